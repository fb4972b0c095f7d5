// A dataset's identity in evaluation is its source and content, not its name: an OOD set that
// shares the in-distribution set's name ("fashion-mnist", test split) but comes from another folder
// must be loaded, encoded and cached as what it is. Three cases on one tiny run:
//   identical bytes in another folder  -> every score's AUROC is 0.5, because the data are identical
//   a transformed copy (rows flipped    -> features computed from the transformed images (the cached
//   upside down, grey levels inverted)     features differ), Mahalanobis AUROC != 0.5
// (A flip alone is invisible to a 12-step tiny model's mean-pooled features and NLL: measured
// AUROC 0.499 / 0.495. Inverting the grey levels is not, whatever the weights.)
//   a stale cache file from another source under this source's file name -> never read
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { train } from "../../src/train/trainer.ts";
import { RunEvaluation, isNotApplicable, type OodScores } from "../../src/eval/run-evaluation.ts";
import { EVAL_CACHE_DIR } from "../../src/eval/eval-cache.ts";
import type { EvalSettings } from "../../src/eval/eval-settings.ts";
import { loadSafetensors } from "../../src/torch/index.ts";
import { FASHION_MNIST_DIR } from "../../src/data/datasets/fashion-mnist.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const folder = tempFolder("data-identity");
after(() => folder.cleanup());

const N = 120;
const SETTINGS: Partial<EvalSettings> = {
  batchSize: 64,
  trainImages: 200,
  testImages: N,
  likelihoodTrainImages: 50,
  probeL2Grid: [1e-2],
  oodImages: N,
  ood: "fashion-mnist",
  oodSplit: "test",
  compressor: "deflate",
};

let runDir = "";
const sameDir = join(folder.dir, "same");
const flippedDir = join(folder.dir, "flipped");

/** An IDX file: magic 0x0000080<ndims>, big-endian dims, then the bytes. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

before(async () => {
  runDir = join(folder.dir, "run");
  await train(tinyConfig(), { out: runDir, log: null });
  // The test split, byte for byte, in another folder.
  mkdirSync(sameDir);
  for (const f of ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]) copyFileSync(join(FASHION_MNIST_DIR, f), join(sameDir, f));
  // The first N test images flipped upside down (rows reversed) and inverted (255 − x), same labels, uncompressed IDX.
  const images = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, "t10k-images-idx3-ubyte.gz"))).subarray(16);
  const labels = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, "t10k-labels-idx1-ubyte.gz"))).subarray(8);
  const flipped = new Uint8Array(N * 784);
  for (let i = 0; i < N; i++) for (let r = 0; r < 28; r++) flipped.set(images.subarray(i * 784 + r * 28, i * 784 + (r + 1) * 28), i * 784 + (27 - r) * 28);
  for (let j = 0; j < flipped.length; j++) flipped[j] = 255 - flipped[j]!;
  mkdirSync(flippedDir);
  writeFileSync(join(flippedDir, "t10k-images-idx3-ubyte"), idx([N, 28, 28], flipped));
  writeFileSync(join(flippedDir, "t10k-labels-idx1-ubyte"), idx([N], labels.subarray(0, N)));
});

async function oodOf(dir: string, log: string[] = []): Promise<OodScores> {
  const ev = RunEvaluation.open(runDir, { ...SETTINGS, oodDataDir: dir }, (line) => log.push(line));
  try {
    return await ev.ood();
  } finally {
    ev.dispose();
  }
}

function auroc(r: OodScores, name: string): number {
  const m = r.results.find((x) => x.name === name)!.metrics;
  assert.ok(!isNotApplicable(m), `${name}: n/a (${isNotApplicable(m) ? m.na : ""})`);
  return m.auroc;
}

/** The cached OOD-side feature files: name -> the feature tensor's first values. */
function cachedFeatureFiles(): Map<string, number[]> {
  const dir = join(runDir, EVAL_CACHE_DIR);
  const out = new Map<string, number[]>();
  for (const f of readdirSync(dir).filter((f) => f.startsWith("features-fashion-mnist-test-"))) {
    const { tensors } = loadSafetensors(join(dir, f));
    out.set(f, tensors.get("value")!.flatten().narrow(0, 0, 64).toArray());
    for (const t of tensors.values()) t.dispose();
  }
  return out;
}

test("the test split under another folder (identical bytes) is loaded from there and scores AUROC 0.5 everywhere", async () => {
  const log: string[] = [];
  const r = await oodOf(sameDir, log);
  assert.match(r.outDataset, new RegExp(`fashion-mnist test \\(${sameDir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)`));
  assert.match(r.inDataset, new RegExp(FASHION_MNIST_DIR.replace(/\//g, "\\/")));
  assert.ok(log.some((l) => l.startsWith(`features of fashion-mnist test (${sameDir})`)), `the OOD set's features were not computed:\n${log.join("\n")}`);
  assert.equal(r.inFingerprint, r.outFingerprint, "identical bytes have identical fingerprints");
  for (const x of r.results) {
    if (isNotApplicable(x.metrics)) continue;
    assert.equal(x.metrics.auroc, 0.5, `${x.name}: AUROC ${x.metrics.auroc} on identical data`);
  }
  assert.equal(cachedFeatureFiles().size, 2, "the in-distribution and OOD sets have separate cache files");
});

test("a transformed copy under the same name is encoded from the transformed images", async () => {
  const log: string[] = [];
  const r = await oodOf(flippedDir, log);
  assert.notEqual(r.inFingerprint, r.outFingerprint);
  assert.ok(log.some((l) => l.startsWith(`features of fashion-mnist test (${flippedDir})`)), log.join("\n"));
  const m = auroc(r, "mahalanobis");
  assert.ok(Math.abs(m - 0.5) > 0.05, `Mahalanobis AUROC ${m} must see the change`);
  assert.notEqual(auroc(r, "nll"), 0.5);
  const files = [...cachedFeatureFiles().values()].map((v) => JSON.stringify(v));
  assert.equal(files.length, 3, "default folder, identical copy and flipped copy: three cache files");
  assert.equal(new Set(files).size, 2, "the transformed set's cached features differ; the identical copy's equal the originals");
});

test("a cache file of another source is never read, even under this source's file name", async () => {
  const dir = join(runDir, EVAL_CACHE_DIR);
  // The flipped set's feature file is the one whose contents no other file shares.
  const files = cachedFeatureFiles();
  const contents = [...files.values()].map((v) => JSON.stringify(v));
  const flippedFile = [...files.keys()].find((_, i) => contents.filter((c) => c === contents[i]).length === 1)!;
  const others = [...files.keys()].filter((f) => f !== flippedFile);
  assert.equal(others.length, 2);
  // Foreign files under the in-distribution's and the identical copy's file names.
  for (const f of others) copyFileSync(join(dir, flippedFile), join(dir, f));
  const log: string[] = [];
  const r = await oodOf(sameDir, log);
  for (const source of [FASHION_MNIST_DIR, sameDir]) {
    assert.ok(log.some((l) => l.startsWith(`features of fashion-mnist test (${source})`)), `features of ${source} were read from a foreign file:\n${log.join("\n")}`);
  }
  const after = cachedFeatureFiles();
  for (const f of others) assert.notDeepEqual(after.get(f), after.get(flippedFile), `${f} still holds the flipped set's features`);
  assert.equal(auroc(r, "mahalanobis"), 0.5);
});
