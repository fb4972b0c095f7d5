// IDX files (the MNIST family: MNIST, Fashion-MNIST, KMNIST, ...), gzipped or not.
//
// Format: a big-endian header — magic (0x00, 0x00, type, number of dims), then one uint32 per dim —
// followed by the data, row-major. gcrl reads the two unsigned-byte kinds:
//   0x00000803  images (N, rows, cols) -> uint8 (N, H, W, 1)
//   0x00000801  labels (N,)            -> int64 (N,)
// Gzip is detected by its magic bytes (1f 8b), not by the file name. The bytes go straight into a
// tensor (one copy, no per-pixel loop): all 70,000 Fashion-MNIST images load in well under a second.
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Tensor, tensor, tidy } from "../../torch/index.ts";
import { imageSet, type ImageSet } from "../image-set.ts";
import { DatasetError, formatCount, isDirectory, isFile, readDatasetFile } from "./dataset-error.ts";

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

const KIND_NAMES: Record<number, string> = {
  [IDX_IMAGES_MAGIC]: "IDX images: unsigned bytes, 3 dims",
  [IDX_LABELS_MAGIC]: "IDX labels: unsigned bytes, 1 dim",
};

export interface IdxContents {
  /** The dims from the header, e.g. [60000, 28, 28]. */
  readonly dims: number[];
  /** The data bytes (exactly the product of dims), a view into the decompressed file. */
  readonly data: Uint8Array;
}

/** The file's bytes, gunzipped when they start with the gzip magic 1f 8b. */
export function readMaybeGzip(path: string): Uint8Array {
  const raw = readDatasetFile(path);
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return gunzipSync(raw);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetError(path, `corrupt gzip data (${reason}); delete the file and download it again`);
  }
}

/** Parses an IDX file whose magic number must be `expectedMagic` (unsigned bytes only). */
export function readIdx(path: string, expectedMagic: number): IdxContents {
  const bytes = readMaybeGzip(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new DatasetError(path, `truncated: ${bytes.length} bytes, too short for an IDX header`);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const found = KIND_NAMES[magic] ? ` (${KIND_NAMES[magic]})` : "";
    const hint = KIND_NAMES[magic] ? "; were the image and label files swapped?" : "; not an IDX file of this kind";
    throw new DatasetError(path, `wrong magic number ${hex(magic)}${found}, expected ${hex(expectedMagic)} (${KIND_NAMES[expectedMagic] ?? "IDX"})${hint}`);
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DatasetError(path, `truncated: the IDX header needs ${headerBytes} bytes, the file has ${bytes.length}`);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual < expected) {
    throw new DatasetError(
      path,
      `truncated: the header says ${dims.join("×")} = ${formatCount(expected)} data bytes, the file has ${formatCount(actual)}`,
    );
  }
  if (actual > expected) {
    throw new DatasetError(
      path,
      `${formatCount(actual - expected)} unexpected bytes after the data (the header says ${dims.join("×")} = ${formatCount(expected)} data bytes)`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** An IDX image file as a uint8 tensor (N, H, W, 1). */
export function readIdxImages(path: string): Tensor {
  const { dims, data } = readIdx(path, IDX_IMAGES_MAGIC);
  const [n, h, w] = dims as [number, number, number];
  if (h === 0 || w === 0) throw new DatasetError(path, `images of size ${h}×${w}`);
  return tensor(data, { shape: [n, h, w, 1] });
}

/** An IDX label file as an int64 tensor (N,). */
export function readIdxLabels(path: string): Tensor {
  const { dims, data } = readIdx(path, IDX_LABELS_MAGIC);
  return tidy(() => tensor(data, { shape: [dims[0]!] }).long());
}

/**
 * An image file and its label file as one ImageSet. The label count must equal the image count, and
 * with `classes` every label must be below classes.length.
 */
export function loadIdxPair(imagesPath: string, labelsPath: string, classes: readonly string[] | null, source: string): ImageSet {
  const images = readIdxImages(imagesPath);
  let labels: Tensor;
  try {
    labels = readIdxLabels(labelsPath);
  } catch (err) {
    images.dispose();
    throw err;
  }
  const problem = tidy(() => {
    const n = images.size(0);
    if (labels.size(0) !== n) {
      return new DatasetError(
        labelsPath,
        `label count ${formatCount(labels.size(0))} ≠ image count ${formatCount(n)} in ${imagesPath}`,
      );
    }
    if (classes !== null && n > 0) {
      const max = labels.max().item();
      if (max >= classes.length) {
        const at = labels.argmax().item();
        return new DatasetError(labelsPath, `label ${max} at index ${at} is out of range for ${classes.length} classes (0..${classes.length - 1})`);
      }
    }
    return null;
  });
  if (problem) {
    images.dispose();
    labels.dispose();
    throw problem;
  }
  return imageSet(images, labels, classes, source);
}

export interface IdxDatasetOptions {
  /** Folder with the IDX files (default: the dataset's usual location). */
  dataDir?: string;
}

/** The usual file names of one split: "train-images-idx3-ubyte[.gz]", "t10k-labels.idx1-ubyte", ... */
export function idxFileCandidates(split: "train" | "test", kind: "images" | "labels"): string[] {
  const prefix = split === "train" ? "train" : "t10k";
  const dim = kind === "images" ? "idx3" : "idx1";
  const names = [`${prefix}-${kind}-${dim}-ubyte`, `${prefix}-${kind}.${dim}-ubyte`];
  return names.flatMap((n) => [`${n}.gz`, n]);
}

/**
 * The image and label files of a split in `dir` (the first existing candidate of each). Throws a
 * DatasetError naming the folder, the names looked for, and `hint` (how to get the files).
 */
export function findIdxPair(dir: string, split: "train" | "test", datasetName: string, hint: string): { images: string; labels: string } {
  if (!isDirectory(dir)) throw new DatasetError(dir, `${datasetName}: no such folder. ${hint}`);
  const find = (kind: "images" | "labels"): string => {
    const candidates = idxFileCandidates(split, kind);
    const found = candidates.map((name) => join(dir, name)).find(isFile);
    if (found === undefined) {
      throw new DatasetError(dir, `${datasetName} ${split}: no ${kind} file (looked for ${candidates.join(", ")}). ${hint}`);
    }
    return found;
  };
  return { images: find("images"), labels: find("labels") };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
