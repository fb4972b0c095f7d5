// CIFAR-10 / CIFAR-100 binary readers on fixture files the test writes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, CIFAR10_CLASSES, DatasetError, loadCifar10, loadCifar100 } from "../../../src/data/datasets/index.ts";
import { disposeSet } from "../../../src/data/image-set.ts";

const root = mkdtempSync(join(tmpdir(), "gcrl-cifar-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** The pixel of record r at channel c, row y, column x (distinct for nearby positions). */
const value = (r: number, c: number, y: number, x: number): number => (r * 37 + c * 101 + y * 7 + x * 3) % 256;

/** Records for ids `ids`: label bytes, then 3072 bytes in CHW order. */
function records(ids: number[], labelsOf: (r: number) => number[]): Buffer {
  const parts = ids.map((r) => {
    const labels = labelsOf(r);
    const rec = Buffer.alloc(labels.length + 3072);
    labels.forEach((l, i) => (rec[i] = l));
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) rec[labels.length + c * 1024 + y * 32 + x] = value(r, c, y, x);
    return rec;
  });
  return Buffer.concat(parts);
}

/** The expected HWC bytes of records `ids`. */
function expectedHwc(ids: number[]): number[] {
  const out: number[] = [];
  for (const r of ids) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) out.push(value(r, c, y, x));
  return out;
}

function assertDatasetError(fn: () => unknown, path: string, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.equal(err.path, path);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

const cifar10Label = (r: number): number[] => [r % 10];

// CIFAR-10: five train batches of 2 records (ids 0..9) and a test batch of 3 (ids 10..12), unpacked
// into ROOT/c10/cifar-10-batches-bin as the archive does.
const c10 = join(root, "c10", "cifar-10-batches-bin");
mkdirSync(c10, { recursive: true });
for (let b = 1; b <= 5; b++) writeFileSync(join(c10, `data_batch_${b}.bin`), records([2 * b - 2, 2 * b - 1], cifar10Label));
writeFileSync(join(c10, "test_batch.bin"), records([10, 11, 12], cifar10Label));

test("CIFAR-10: CHW records -> (N, 32, 32, 3) HWC exactly; batches in order; parent folder accepted", () => {
  for (const dataDir of [c10, join(root, "c10")]) {
    const train = loadCifar10("train", { dataDir });
    assert.deepEqual(train.images.shape, [10, 32, 32, 3]);
    assert.equal(train.images.dtype, "uint8");
    assert.deepEqual(Array.from(train.images.toTypedArray<"uint8">()), expectedHwc([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert.deepEqual(train.labels!.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    assert.equal(train.source, `cifar10 train (${c10})`);
    disposeSet(train);
  }
  const test = loadCifar10("test", { dataDir: c10 });
  assert.deepEqual(Array.from(test.images.toTypedArray<"uint8">()), expectedHwc([10, 11, 12]));
  assert.deepEqual(test.labels!.toArray(), [0, 1, 2]);
  // One pixel by hand: record 11, row 5, column 9, green: (11·37 + 1·101 + 5·7 + 9·3) % 256 = 570 % 256 = 58.
  assert.equal(test.images.select(0, 1).select(0, 5).select(0, 9).select(0, 1).item(), 58);
  disposeSet(test);
});

test("CIFAR-10: class names from batches.meta.txt when present", () => {
  const dir = join(root, "c10-meta");
  mkdirSync(dir);
  writeFileSync(join(dir, "test_batch.bin"), records([0], cifar10Label));
  writeFileSync(join(dir, "batches.meta.txt"), "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n\n");
  const set = loadCifar10("test", { dataDir: dir });
  assert.deepEqual(set.classes, ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]);
  disposeSet(set);
  writeFileSync(join(dir, "batches.meta.txt"), "a\nb\n");
  assertDatasetError(() => loadCifar10("test", { dataDir: dir }), join(dir, "batches.meta.txt"), /has 2 class names, expected 10/);
});

test("CIFAR-100: fine labels by default, coarse on request; 2 label bytes per record", () => {
  const dir = join(root, "c100", "cifar-100-binary");
  mkdirSync(dir, { recursive: true });
  const labels = (r: number): number[] => [r % 20, (r * 13) % 100]; // coarse, fine
  writeFileSync(join(dir, "train.bin"), records([0, 1, 2, 3], labels));
  writeFileSync(join(dir, "test.bin"), records([4, 5], labels));
  const fine = loadCifar100("train", { dataDir: join(root, "c100") });
  assert.deepEqual(fine.images.shape, [4, 32, 32, 3]);
  assert.deepEqual(Array.from(fine.images.toTypedArray<"uint8">()), expectedHwc([0, 1, 2, 3]));
  assert.deepEqual(fine.labels!.toArray(), [0, 13, 26, 39]);
  assert.deepEqual(fine.classes, CIFAR100_FINE_CLASSES);
  assert.equal(fine.classes!.length, 100);
  const coarse = loadCifar100("test", { dataDir: dir, labels: "coarse" });
  assert.deepEqual(Array.from(coarse.images.toTypedArray<"uint8">()), expectedHwc([4, 5]));
  assert.deepEqual(coarse.labels!.toArray(), [4, 5]);
  assert.deepEqual(coarse.classes, CIFAR100_COARSE_CLASSES);
  assert.equal(coarse.classes!.length, 20);
  [fine, coarse].forEach(disposeSet);
  writeFileSync(join(dir, "fine_label_names.txt"), Array.from({ length: 100 }, (_, i) => `f${i}`).join("\n"));
  const named = loadCifar100("test", { dataDir: dir });
  assert.equal(named.classes![13], "f13");
  disposeSet(named);
});

test("truncated file: size vs record size", () => {
  const dir = join(root, "trunc");
  mkdirSync(dir);
  const file = join(dir, "test_batch.bin");
  writeFileSync(file, records([0, 1], cifar10Label).subarray(0, 2 * 3073 - 100));
  assertDatasetError(() => loadCifar10("test", { dataDir: dir }), file, /truncated or not a CIFAR-10 binary file: 6,046 bytes is not a whole number of 3,073-byte records \(1 whole record and 2,973 bytes left over\)/);
  writeFileSync(file, Buffer.alloc(0));
  assertDatasetError(() => loadCifar10("test", { dataDir: dir }), file, /empty file/);
  // A CIFAR-100 file read as CIFAR-10: 2 records of 3074 bytes are not a multiple of 3073.
  writeFileSync(file, records([0, 1], (r) => [r, r]));
  assertDatasetError(() => loadCifar10("test", { dataDir: dir }), file, /not a whole number of 3,073-byte records/);
});

test("label out of range", () => {
  const dir = join(root, "range");
  mkdirSync(dir);
  const file = join(dir, "test_batch.bin");
  writeFileSync(file, records([0, 1, 2], (r) => [r === 2 ? 10 : r]));
  assertDatasetError(() => loadCifar10("test", { dataDir: dir }), file, /record 2 has label 10, out of range for CIFAR-10's 10 classes \(0..9\)/);
  const file100 = join(dir, "test.bin");
  writeFileSync(file100, records([0, 1], (r) => [r === 1 ? 20 : 0, 5]));
  assertDatasetError(() => loadCifar100("test", { dataDir: dir, labels: "coarse" }), file100, /record 1 has label 20, out of range for CIFAR-100's 20 classes/);
});

test("missing files are named, with the download command", () => {
  const dir = join(root, "missing");
  mkdirSync(dir);
  writeFileSync(join(dir, "data_batch_1.bin"), records([0], cifar10Label));
  writeFileSync(join(dir, "data_batch_3.bin"), records([0], cifar10Label));
  assertDatasetError(() => loadCifar10("train", { dataDir: dir }), dir, /CIFAR-10: missing data_batch_2\.bin, data_batch_4\.bin, data_batch_5\.bin/, /gcrl data download cifar10 --dir D/);
  assertDatasetError(() => loadCifar100("train", { dataDir: dir }), dir, /CIFAR-100: missing train\.bin/);
  // Without a dataDir: data/cifar10 under the working folder (where the downloader unpacks it).
  const cwd = process.cwd();
  process.chdir(join(root, "c10"));
  try {
    assertDatasetError(() => loadCifar10("test"), join("data", "cifar10"), /cifar10: no such folder/, /gcrl data download cifar10/);
    mkdirSync(join("data", "cifar10", "cifar-10-batches-bin"), { recursive: true });
    writeFileSync(join("data", "cifar10", "cifar-10-batches-bin", "test_batch.bin"), records([3], cifar10Label));
    const set = loadCifar10("test");
    assert.deepEqual(set.labels!.toArray(), [3]);
    disposeSet(set);
  } finally {
    process.chdir(cwd);
  }
  assertDatasetError(() => loadCifar10("test", { dataDir: join(dir, "nope") }), join(dir, "nope"), /no such folder/);
});
