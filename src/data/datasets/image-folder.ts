// An image folder: PNG/JPEG files decoded with sharp (libvips).
//
//   per class:  DIR/<class>/*.png|jpg|jpeg   labels = index of <class> in the sorted sub-folder names
//   flat:       DIR/*.png|jpg|jpeg           no labels
//
// Names are sorted by code unit (locale-independent), hidden entries (".x") and other files are
// ignored, images are turned upright by their EXIF orientation. Without `size` every image must have
// the same size; with `size` = [H, W] each is resized to cover H×W and centre-cropped. `channels` 1
// converts to grayscale, 3 to sRGB (grayscale replicated); alpha is dropped. Without `channels` the set
// is grayscale when every image is, RGB otherwise.
import { readdirSync, statSync, type Dirent } from "node:fs";
import { availableParallelism } from "node:os";
import { extname, join } from "node:path";
import sharp, { type OutputInfo } from "sharp";
import { tensor } from "../../torch/index.ts";
import { imageSet, type ImageSet } from "../image-set.ts";
import { DatasetError, describeFsError } from "./dataset-error.ts";

export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([".png", ".jpg", ".jpeg"]);

export interface ImageFolderOptions {
  /** [H, W]: resize each image to cover H×W, then centre-crop. Required when the sizes differ. */
  size?: [number, number];
  /** 1 (grayscale) or 3 (RGB). Default: 1 when every image is grayscale, else 3. */
  channels?: 1 | 3;
  /**
   * Class names in label order, for a labelled folder whose sub-folders may be only some of them (a
   * test split lacking a class keeps the train split's labels). Default: the sorted sub-folder names.
   */
  classes?: readonly string[];
  /** Description for the set's `source` (default "folder DIR"). */
  source?: string;
}

interface ImageFile {
  readonly path: string;
  readonly label: number | null;
}

interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** Colour channels without alpha: 1 grayscale, 3 RGB (CMYK etc. count as colour). */
  readonly colourChannels: number;
}

export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageSet> {
  const size = checkSize(options.size);
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3) {
    throw new RangeError(`image folder: channels must be 1 or 3, got ${JSON.stringify(options.channels)}`);
  }
  const { files, classes } = listImages(dir, options.classes);
  const headers = await mapConcurrent(files, (f) => readHeader(f.path));
  const channels = options.channels ?? (headers.every((h) => h.colourChannels === 1) ? 1 : 3);
  let height: number;
  let width: number;
  if (size) {
    [height, width] = size;
  } else {
    const first = headers[0]!;
    const other = headers.findIndex((h) => h.width !== first.width || h.height !== first.height);
    if (other >= 0) {
      const h = headers[other]!;
      throw new DatasetError(
        dir,
        `images of different sizes: ${files[0]!.path} is ${first.width}×${first.height} and ${files[other]!.path} is ${h.width}×${h.height} ` +
          `(width×height); resize them to one size first (e.g. ImageMagick: mogrify -resize 32x32^ -gravity center -extent 32x32 *.png), ` +
          `or load the folder with a size [H, W] (loadDataset's size option), which resizes and centre-crops them all`,
      );
    }
    [height, width] = [first.height, first.width];
  }
  const imageBytes = height * width * channels;
  const pixels = new Uint8Array(files.length * imageBytes);
  await mapConcurrent(files, async (f, i) => {
    pixels.set(await decode(f.path, height, width, channels, size !== undefined), i * imageBytes);
  });
  const images = tensor(pixels, { shape: [files.length, height, width, channels] });
  const labels = classes === null ? null : tensor(BigInt64Array.from(files, (f) => BigInt(f.label!)), { shape: [files.length] });
  return imageSet(images, labels, classes, options.source ?? `folder ${dir}`);
}

/**
 * The image files of a folder (per-class or flat) in load order, and the class names (null when flat).
 * With `knownClasses`, labels index that list and every sub-folder must be in it.
 */
export function listImages(dir: string, knownClasses?: readonly string[]): { files: ImageFile[]; classes: readonly string[] | null } {
  const entries = readEntries(dir);
  const subdirs = entries.filter((e) => isDir(dir, e)).map((e) => e.name).sort();
  const topImages = imageNames(entries);
  if (subdirs.length === 0) {
    if (topImages.length === 0) throw new DatasetError(dir, noImagesProblem(entries));
    return { files: topImages.map((name) => ({ path: join(dir, name), label: null })), classes: null };
  }
  if (topImages.length > 0) {
    throw new DatasetError(
      dir,
      `has both images (e.g. ${topImages[0]}) and sub-folders (e.g. ${subdirs[0]}); put every image in a class sub-folder ` +
        `(labelled set) or none in sub-folders (flat set, no labels)`,
    );
  }
  const classes = knownClasses ?? subdirs;
  const stray = subdirs.find((d) => !classes.includes(d));
  if (stray !== undefined) throw new DatasetError(join(dir, stray), `not one of the classes ${classes.join(", ")}`);
  const files: ImageFile[] = [];
  subdirs.forEach((cls) => {
    const label = classes.indexOf(cls);
    const classDir = join(dir, cls);
    const classEntries = readEntries(classDir);
    const names = imageNames(classEntries);
    if (names.length === 0) throw new DatasetError(classDir, `class folder: ${noImagesProblem(classEntries)}`);
    for (const name of names) files.push({ path: join(classDir, name), label });
  });
  return { files, classes };
}

function readEntries(dir: string): Dirent[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new DatasetError(dir, `image folder: ${describeFsError(err)}`);
  }
  return entries.filter((e) => !e.name.startsWith("."));
}

/** A sub-folder, or a symbolic link to one. */
function isDir(parent: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(parent, e.name)).isDirectory();
  } catch {
    return false;
  }
}

function imageNames(entries: Dirent[]): string[] {
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
}

function noImagesProblem(entries: Dirent[]): string {
  if (entries.length === 0) return "empty folder, no images";
  return `no images (${IMAGE_EXTENSIONS.join(", ")}) among its ${entries.length} entries, e.g. ${entries[0]!.name}`;
}

async function readHeader(path: string): Promise<ImageHeader> {
  try {
    const m = await sharp(path).metadata();
    const alpha = m.hasAlpha ? 1 : 0;
    return { width: m.autoOrient.width, height: m.autoOrient.height, colourChannels: m.channels - alpha };
  } catch (err) {
    throw unreadable(path, err);
  }
}

/** One image as HWC bytes, exactly height × width × channels long. */
async function decode(path: string, height: number, width: number, channels: 1 | 3, resize: boolean): Promise<Uint8Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    let pipeline = sharp(path).autoOrient();
    if (resize) pipeline = pipeline.resize(width, height, { fit: "cover", position: "centre" });
    pipeline = pipeline.removeAlpha().toColourspace(channels === 1 ? "b-w" : "srgb");
    ({ data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw unreadable(path, err);
  }
  if (info.width !== width || info.height !== height || info.channels !== channels || data.length !== height * width * channels) {
    throw new DatasetError(path, `decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×${channels} (width×height×channels)`);
  }
  return data;
}

function unreadable(path: string, err: unknown): DatasetError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DatasetError(path, `unreadable or corrupt image (${reason})`);
}

function checkSize(size: readonly number[] | undefined): [number, number] | undefined {
  if (size === undefined) return undefined;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s >= 1 && s <= 16384)) {
    throw new RangeError(`image folder: size must be [height, width] with integers in 1..16384, got ${JSON.stringify(size)}`);
  }
  return [size[0]!, size[1]!];
}

/** fn over items with at most (cores) in flight; results in item order. */
async function mapConcurrent<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, Math.max(2, availableParallelism())) }, worker));
  return results;
}
