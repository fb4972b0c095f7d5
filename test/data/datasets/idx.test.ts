// IDX reader on fixture files the test writes: gzipped and plain, and every bad-file case.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DatasetError, loadIdxPair, readIdxImages, readIdxLabels } from "../../../src/data/datasets/index.ts";
import { loadMnist } from "../../../src/data/datasets/mnist.ts";
import { disposeSet } from "../../../src/data/image-set.ts";

const dir = mkdtempSync(join(tmpdir(), "gcrl-idx-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file: magic 0x000008<ndims>, big-endian dims, then the bytes. */
function idx(dims: number[], data: Uint8Array, magic = 0x0800 | dims.length): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

// 3 images of 2×4: pixel (n, y, x) = 10n + 4y + x; labels 2, 0, 1.
const N = 3, H = 2, W = 4;
const pixels = Uint8Array.from({ length: N * H * W }, (_, i) => 10 * Math.floor(i / (H * W)) + (i % (H * W)));
const labelBytes = Uint8Array.from([2, 0, 1]);
const imagesFile = idx([N, H, W], pixels);
const labelsFile = idx([N], labelBytes);

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Runs fn, expects a DatasetError naming `path` and matching every pattern. */
function assertDatasetError(fn: () => unknown, path: string, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DatasetError, `expected a DatasetError, got ${String(err)}`);
    assert.equal(err.path, path);
    assert.ok(err.message.startsWith(path + ": "), err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

for (const gz of [false, true]) {
  test(`images (N,H,W) -> uint8 (N,H,W,1) and labels -> int64, ${gz ? "gzipped" : "plain"}`, () => {
    const wrap = (b: Buffer): Uint8Array => (gz ? gzipSync(b) : b);
    const ip = write(`images-${gz}.idx3${gz ? ".gz" : ""}`, wrap(imagesFile));
    const lp = write(`labels-${gz}.idx1${gz ? ".gz" : ""}`, wrap(labelsFile));
    const set = loadIdxPair(ip, lp, ["a", "b", "c"], "fixture");
    assert.equal(set.images.dtype, "uint8");
    assert.deepEqual(set.images.shape, [N, H, W, 1]);
    assert.deepEqual(Array.from(set.images.toTypedArray<"uint8">()), Array.from(pixels));
    assert.equal(set.labels!.dtype, "int64");
    assert.deepEqual(set.labels!.toArray(), [2, 0, 1]);
    assert.deepEqual(set.classes, ["a", "b", "c"]);
    assert.equal(set.source, "fixture");
    disposeSet(set);
  });
}

test("gzip is detected by its magic bytes, not the file name", () => {
  const gzNoExt = write("gzipped-without-ext", gzipSync(imagesFile));
  const plainWithGz = write("plain-named.gz", imagesFile);
  for (const p of [gzNoExt, plainWithGz]) {
    const t = readIdxImages(p);
    assert.deepEqual(Array.from(t.toTypedArray<"uint8">()), Array.from(pixels));
    t.dispose();
  }
});

test("wrong magic number: found and expected values, swapped-files hint", () => {
  const lp = write("labels-as-images", labelsFile);
  assertDatasetError(() => readIdxImages(lp), lp, /wrong magic number 0x00000801 \(IDX labels/, /expected 0x00000803/, /swapped/);
  const ip = write("images-as-labels.gz", gzipSync(imagesFile));
  assertDatasetError(() => readIdxLabels(ip), ip, /wrong magic number 0x00000803/, /expected 0x00000801/);
  const png = write("not-idx.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  assertDatasetError(() => readIdxImages(png), png, /wrong magic number 0x89504e47, expected 0x00000803/, /not an IDX file/);
  const float = write("float-images", idx([N, H, W], pixels, 0x00000d03));
  assertDatasetError(() => readIdxImages(float), float, /wrong magic number 0x00000d03/);
});

test("truncated data: expected vs actual bytes (plain and gzipped)", () => {
  const cut = imagesFile.subarray(0, imagesFile.length - 5);
  const p = write("truncated-images", cut);
  assertDatasetError(() => readIdxImages(p), p, /truncated: the header says 3×2×4 = 24 data bytes, the file has 19/);
  const pz = write("truncated-images.gz", gzipSync(cut));
  assertDatasetError(() => readIdxImages(pz), pz, /truncated: .* 24 data bytes, the file has 19/);
  const header = write("truncated-header", imagesFile.subarray(0, 10));
  assertDatasetError(() => readIdxImages(header), header, /truncated: the IDX header needs 16 bytes, the file has 10/);
  const tiny = write("tiny", Buffer.from([0, 0]));
  assertDatasetError(() => readIdxImages(tiny), tiny, /truncated: 2 bytes/);
  const extra = write("extra-bytes", Buffer.concat([labelsFile, Buffer.from([7, 7])]));
  assertDatasetError(() => readIdxLabels(extra), extra, /2 unexpected bytes after the data/);
});

test("label count ≠ image count names both files", () => {
  const ip = write("count-images", imagesFile);
  const lp = write("count-labels", idx([2], Uint8Array.from([1, 0])));
  assertDatasetError(() => loadIdxPair(ip, lp, null, "fixture"), lp, /label count 2 ≠ image count 3/, new RegExp(ip.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
});

test("label out of range for the class list", () => {
  const ip = write("range-images", imagesFile);
  const lp = write("range-labels", idx([3], Uint8Array.from([0, 9, 1])));
  assertDatasetError(() => loadIdxPair(ip, lp, ["a", "b", "c"], "fixture"), lp, /label 9 at index 1 is out of range for 3 classes/);
});

test("corrupt gzip: named, with zlib's reason", () => {
  const good = gzipSync(imagesFile);
  const corrupt = Buffer.from(good);
  corrupt.fill(0xff, 12, 30); // garbage in the deflate stream
  const p = write("corrupt.gz", corrupt);
  assertDatasetError(() => readIdxImages(p), p, /corrupt gzip data \(/);
  const cut = write("cut.gz", good.subarray(0, good.length - 8)); // missing the trailer
  assertDatasetError(() => readIdxImages(cut), cut, /corrupt gzip data/);
});

test("missing file is named", () => {
  const p = join(dir, "does-not-exist");
  assertDatasetError(() => readIdxImages(p), p, /no such file/);
});

test("mnist: the standard file names in --data-dir, gzipped or not; missing files named with a hint", () => {
  const mnistDir = mkdtempSync(join(dir, "mnist-"));
  writeFileSync(join(mnistDir, "train-images-idx3-ubyte.gz"), gzipSync(imagesFile));
  writeFileSync(join(mnistDir, "train-labels-idx1-ubyte"), labelsFile);
  const set = loadMnist("train", { dataDir: mnistDir });
  assert.deepEqual(set.images.shape, [3, 2, 4, 1]);
  assert.deepEqual(set.labels!.toArray(), [2, 0, 1]);
  assert.equal(set.classes!.length, 10);
  disposeSet(set);
  assertDatasetError(() => loadMnist("test", { dataDir: mnistDir }), mnistDir, /no images file \(looked for t10k-images-idx3-ubyte.gz/, /gcrl data download mnist --dir D/);
  // Without a dataDir: data/mnist under the working folder (the downloader's default).
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assertDatasetError(() => loadMnist("train"), join("data", "mnist"), /no such folder/, /gcrl data download mnist/);
  } finally {
    process.chdir(cwd);
  }
});
