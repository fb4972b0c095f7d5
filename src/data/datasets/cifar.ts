// CIFAR-10 and CIFAR-100 in their binary versions (Krizhevsky 2009), 32×32 RGB.
//
//   CIFAR-10  (cifar-10-batches-bin/)  data_batch_1..5.bin (train, 50,000), test_batch.bin (10,000);
//             each record: 1 label byte (0..9) + 3072 pixel bytes.
//   CIFAR-100 (cifar-100-binary/)       train.bin (50,000), test.bin (10,000);
//             each record: 1 coarse label byte (0..19) + 1 fine label byte (0..99) + 3072 pixel bytes.
//
// Pixels are planar (CHW): 1024 red bytes, then green, then blue, each row-major 32×32. They become
// uint8 (N, 32, 32, 3) HWC through a tensor permute (no per-pixel JS loop). `dataDir` may be the folder
// holding the .bin files or its parent (where the archive was unpacked); by default data/cifar10 or
// data/cifar100 (relative to the working folder: where `gcrl data download` puts them). Class names come from
// batches.meta.txt / fine_label_names.txt / coarse_label_names.txt when present, else the built-in lists.
import { join } from "node:path";
import { Tensor, cat, tensor, tidy } from "../../torch/index.ts";
import { imageSet, type ImageSet } from "../image-set.ts";
import { DatasetError, formatCount, isDirectory, isFile, readDatasetFile } from "./dataset-error.ts";

const SIDE = 32;
const PIXEL_BYTES = 3 * SIDE * SIDE;

export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]);

export const CIFAR100_FINE_CLASSES: readonly string[] = Object.freeze([
  "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
  "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
  "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
  "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
  "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
  "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
  "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
  "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
  "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
  "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
]);

export const CIFAR100_COARSE_CLASSES: readonly string[] = Object.freeze([
  "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
  "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
  "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
  "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
  "vehicles_1", "vehicles_2",
]);

/** Where `gcrl data download cifar10|cifar100` unpacks the archives by default (relative to the working folder). */
export const CIFAR10_DIR = join("data", "cifar10");
export const CIFAR100_DIR = join("data", "cifar100");

export interface CifarOptions {
  /** Folder with the .bin files, or the folder the archive was unpacked into (default CIFAR10_DIR / CIFAR100_DIR). */
  dataDir?: string;
}

export interface Cifar100Options extends CifarOptions {
  /** Which label to return: the 100 fine classes (default) or the 20 coarse superclasses. */
  labels?: "fine" | "coarse";
}

/** A CIFAR binary file's layout: label bytes per record, which of them is the label, how many classes. */
export interface CifarRecordLayout {
  readonly labelBytes: 1 | 2;
  readonly labelIndex: 0 | 1;
  readonly numClasses: number;
  readonly datasetName: string;
}

/** Reads one CIFAR binary file: images uint8 (N, 32, 32, 3) HWC, labels int64 (N,). */
export function readCifarBinary(path: string, layout: CifarRecordLayout): { images: Tensor; labels: Tensor } {
  const bytes = readDatasetFile(path);
  const record = layout.labelBytes + PIXEL_BYTES;
  if (bytes.length === 0) throw new DatasetError(path, "empty file");
  if (bytes.length % record !== 0) {
    throw new DatasetError(
      path,
      `truncated or not a ${layout.datasetName} binary file: ${formatCount(bytes.length)} bytes is not a whole number of ` +
        `${formatCount(record)}-byte records (${plural(Math.floor(bytes.length / record), "whole record")} and ${plural(bytes.length % record, "byte")} left over)`,
    );
  }
  const n = bytes.length / record;
  return tidy(() => {
    const records = tensor(bytes, { shape: [n, record] }); // (N, labelBytes + 3072)
    const labels = records.select(1, layout.labelIndex).long(); // (N,)
    const max = labels.max().item();
    if (max >= layout.numClasses) {
      const at = labels.argmax().item();
      throw new DatasetError(path, `record ${at} has label ${max}, out of range for ${layout.datasetName}'s ${layout.numClasses} classes (0..${layout.numClasses - 1})`);
    }
    const images = records
      .narrow(1, layout.labelBytes, PIXEL_BYTES)
      .reshape([n, 3, SIDE, SIDE]) // (N, C, H, W)
      .permute([0, 2, 3, 1]) // (N, H, W, C)
      .contiguous();
    return { images, labels };
  });
}

export function loadCifar10(split: "train" | "test", options: CifarOptions = {}): ImageSet {
  const dir = findCifarDir(options.dataDir ?? CIFAR10_DIR, "cifar10", "cifar-10-batches-bin", "test_batch.bin");
  const names = split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
  const classes = readClassNames(join(dir, "batches.meta.txt"), 10) ?? CIFAR10_CLASSES;
  const layout: CifarRecordLayout = { labelBytes: 1, labelIndex: 0, numClasses: 10, datasetName: "CIFAR-10" };
  return loadCifarFiles(dir, names, layout, classes, `cifar10 ${split} (${dir})`);
}

export function loadCifar100(split: "train" | "test", options: Cifar100Options = {}): ImageSet {
  const which = options.labels ?? "fine";
  if (which !== "fine" && which !== "coarse") throw new RangeError(`cifar100: labels must be "fine" or "coarse", got ${JSON.stringify(which)}`);
  const dir = findCifarDir(options.dataDir ?? CIFAR100_DIR, "cifar100", "cifar-100-binary", "test.bin");
  const fine = which === "fine";
  const numClasses = fine ? 100 : 20;
  const classes =
    readClassNames(join(dir, fine ? "fine_label_names.txt" : "coarse_label_names.txt"), numClasses) ??
    (fine ? CIFAR100_FINE_CLASSES : CIFAR100_COARSE_CLASSES);
  const layout: CifarRecordLayout = { labelBytes: 2, labelIndex: fine ? 1 : 0, numClasses, datasetName: "CIFAR-100" };
  const source = `cifar100 ${split}${fine ? "" : " coarse labels"} (${dir})`;
  return loadCifarFiles(dir, [split === "train" ? "train.bin" : "test.bin"], layout, classes, source);
}

function loadCifarFiles(dir: string, names: string[], layout: CifarRecordLayout, classes: readonly string[], source: string): ImageSet {
  const paths = names.map((name) => join(dir, name));
  const missing = paths.filter((p) => !isFile(p));
  if (missing.length > 0) {
    throw new DatasetError(dir, `${layout.datasetName}: missing ${missing.map((p) => p.slice(dir.length + 1)).join(", ")}. ${downloadHint(layout)}`);
  }
  const parts: { images: Tensor; labels: Tensor }[] = [];
  try {
    for (const p of paths) parts.push(readCifarBinary(p, layout));
  } catch (err) {
    for (const p of parts) (p.images.dispose(), p.labels.dispose());
    throw err;
  }
  if (parts.length === 1) return imageSet(parts[0]!.images, parts[0]!.labels, classes, source);
  const { images, labels } = tidy(() => ({ images: cat(parts.map((p) => p.images)), labels: cat(parts.map((p) => p.labels)) }));
  for (const p of parts) (p.images.dispose(), p.labels.dispose());
  return imageSet(images, labels, classes, source);
}

/** `dataDir` itself when it holds `marker`, else `dataDir/subdir` when that does. */
function findCifarDir(dataDir: string, name: string, subdir: string, marker: string): string {
  const hint = `Download it with \`gcrl data download ${name}\` (into data/${name}) or \`gcrl data download ${name} --dir D\` and pass --data-dir D.`;
  if (!isDirectory(dataDir)) throw new DatasetError(dataDir, `${name}: no such folder. ${hint}`);
  if (!isFile(join(dataDir, marker)) && isDirectory(join(dataDir, subdir))) return join(dataDir, subdir);
  return dataDir;
}

function downloadHint(layout: CifarRecordLayout): string {
  const name = layout.datasetName === "CIFAR-10" ? "cifar10" : "cifar100";
  return `Download the binary version with \`gcrl data download ${name}\` (into data/${name}) or \`gcrl data download ${name} --dir D\` and pass --data-dir D.`;
}

/** Non-empty lines of a class-name file, or null when it is absent; a wrong count is an error. */
function readClassNames(path: string, expected: number): readonly string[] | null {
  if (!isFile(path)) return null;
  const names = readDatasetFile(path).toString("utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  if (names.length !== expected) throw new DatasetError(path, `has ${names.length} class names, expected ${expected}`);
  return Object.freeze(names);
}

function plural(n: number, what: string): string {
  return `${formatCount(n)} ${what}${n === 1 ? "" : "s"}`;
}
