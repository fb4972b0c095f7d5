// End to end: a tiny GCRL run and a tiny SimCLR run on real Fashion-MNIST, then `gcrl eval all`
// (RunEvaluation + evaluateAll) with MNIST digits as OOD on small subsets. Checks that every number
// in eval.json is finite or an explicit n/a with a reason, that the report files exist and every
// image they reference exists, that a second evaluation is served from the cache, and (when
// Chromium is installed) that report.html loads every image without console errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import sharp from "sharp";
import { Rng } from "../../src/data/rng.ts";
import { join } from "node:path";
import { train } from "../../src/train/trainer.ts";
import { RunEvaluation, isNotApplicable } from "../../src/eval/run-evaluation.ts";
import { readEvalReport, type EvalReport } from "../../src/eval/eval-report.ts";
import { evaluateAll } from "../../src/report/eval-all.ts";
import type { EvalSettings } from "../../src/eval/eval-settings.ts";
import { checkHtmlInBrowser, findChromium } from "../helpers/browser-check.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";
import { acquireRunLock, RunLockError } from "../../src/train/run-lock.ts";

const folder = tempFolder("eval-all");
after(() => folder.cleanup());

const SETTINGS: Partial<EvalSettings> = {
  batchSize: 64,
  trainImages: 300,
  testImages: 120,
  likelihoodTrainImages: 100,
  probeL2Grid: [1e-3, 1e-1],
  samples: 6,
  fidSamples: 24,
  kidSubsets: 5,
  kidSubsetSize: 12,
  completionImages: 2,
  completionSamples: 2,
  oodImages: 100,
  ood: "mnist-digits",
  fidNetTrainImages: 500,
};

async function tinyRun(name: string, mode: "gcrl" | "simclr"): Promise<string> {
  const dir = join(folder.dir, name);
  const config = tinyConfig((c) => {
    c.objective.mode = mode;
    c.budget.steps = 4;
    c.train.evalEvery = 2;
    c.data.evalImages = 16;
  });
  await train(config, { out: dir, log: null });
  return dir;
}

/** `gcrl eval all` on a run folder, the evaluation disposed afterwards. */
async function evaluate(dir: string, settings: Partial<EvalSettings>): Promise<EvalReport> {
  const ev = RunEvaluation.open(dir, settings);
  try {
    return await evaluateAll(ev);
  } finally {
    ev.dispose();
  }
}

/** Every number in the report is finite; every { na } has a non-empty reason. Returns the paths checked. */
function checkCells(value: unknown, path: string, found: string[]): void {
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value), `${path} = ${value} is not finite`);
    found.push(path);
  } else if (Array.isArray(value)) value.forEach((v, i) => checkCells(v, `${path}[${i}]`, found));
  else if (value !== null && typeof value === "object") {
    if (isNotApplicable(value)) assert.ok(value.na.length > 0, `${path}: n/a without a reason`);
    for (const [k, v] of Object.entries(value)) checkCells(v, `${path}.${k}`, found);
  }
}

function checkReportFiles(runDir: string): void {
  for (const f of ["eval.json", "report.md", "report.html"]) assert.ok(existsSync(join(runDir, f)), `${f} missing`);
  const md = readFileSync(join(runDir, "report.md"), "utf8");
  const html = readFileSync(join(runDir, "report.html"), "utf8");
  const mdImages = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
  const htmlImages = [...html.matchAll(/<img[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(mdImages.length > 0, "report.md shows no image");
  assert.deepEqual(new Set(htmlImages), new Set(mdImages), "report.md and report.html show different images");
  for (const p of mdImages) assert.ok(existsSync(join(runDir, p)), `report image ${p} does not exist`);
}

let gcrlReport: EvalReport;
let gcrlDir: string;

test("eval all on a tiny GCRL run: every number finite, report files and images exist", { timeout: 600_000 }, async () => {
  gcrlDir = await tinyRun("gcrl", "gcrl");
  gcrlReport = await evaluate(gcrlDir, { ...SETTINGS, fidNet: join(folder.dir, "fid-net") });
  const found: string[] = [];
  checkCells(gcrlReport, "eval", found);
  assert.ok(!isNotApplicable(gcrlReport.probe) && gcrlReport.probe.testAccuracy > 0.3, "probe on 300 images should beat chance (10%) clearly");
  assert.ok(!isNotApplicable(gcrlReport.knn));
  assert.ok(!isNotApplicable(gcrlReport.likelihood) && gcrlReport.likelihood.testBitsPerDim > 0 && gcrlReport.likelihood.testBitsPerDim < 4.5);
  assert.ok(Array.isArray(gcrlReport.fid) && gcrlReport.fid.length === 1 && gcrlReport.fid[0]!.samples === 24);
  assert.ok(!isNotApplicable(gcrlReport.ood));
  const names = gcrlReport.ood.scores.map((s) => s.name);
  assert.deepEqual(names, ["nll", "typicality", "complexity", "likelihood-ratio", "mahalanobis", "knn-distance", "msp", "energy", "class-mahalanobis"]);
  for (const s of gcrlReport.ood.scores) {
    if (s.name === "likelihood-ratio") assert.ok(isNotApplicable(s.metrics) && /no background model/.test(s.metrics.na), JSON.stringify(s.metrics));
    else assert.ok(!isNotApplicable(s.metrics), `${s.name} should be computed for a gcrl run`);
  }
  assert.equal(gcrlReport.ood.nOut, 100);
  checkReportFiles(gcrlDir);
  const reread = readEvalReport(join(gcrlDir, "eval.json"));
  assert.deepEqual(reread.settings, gcrlReport.settings);
  assert.ok(readdirSync(join(gcrlDir, "cache")).length > 0, "features and likelihoods are cached");
});

test("a second evaluation of the same run reads features and bits/dim from the cache", { timeout: 300_000 }, async () => {
  const lines: string[] = [];
  const ev = RunEvaluation.open(gcrlDir, SETTINGS, (l) => lines.push(l));
  try {
    const knn = await ev.knn();
    assert.ok(!isNotApplicable(gcrlReport.knn));
    assert.equal(knn.accuracy, gcrlReport.knn.accuracy);
    const bits = await ev.likelihood();
    assert.ok(!isNotApplicable(bits) && !isNotApplicable(gcrlReport.likelihood));
    assert.equal(bits.testBitsPerDim, gcrlReport.likelihood.testBitsPerDim);
  } finally {
    ev.dispose();
  }
  assert.ok(!lines.some((l) => l.startsWith("features of") || l.startsWith("bits/dim of")), `recomputed: ${lines.join(" | ")}`);
});

test("eval all on a SimCLR run: decoder-based numbers are n/a with a reason, the rest is measured", { timeout: 300_000 }, async () => {
  const dir = await tinyRun("simclr", "simclr");
  const report = await evaluate(dir, { ...SETTINGS, fidNet: join(folder.dir, "fid-net") });
  checkCells(report, "eval", []);
  for (const key of ["likelihood", "samples", "completions", "fid"] as const) {
    const v = report[key];
    assert.ok(isNotApplicable(v) && /simclr/.test(v.na), `${key} should be n/a for simclr: ${JSON.stringify(v)}`);
  }
  assert.ok(!isNotApplicable(report.probe) && !isNotApplicable(report.ood));
  const byName = new Map(report.ood.scores.map((s) => [s.name, s.metrics]));
  for (const n of ["nll", "typicality", "complexity", "likelihood-ratio"] as const) assert.ok(isNotApplicable(byName.get(n)));
  for (const n of ["mahalanobis", "knn-distance", "msp", "energy", "class-mahalanobis"] as const) assert.ok(!isNotApplicable(byName.get(n)));
  checkReportFiles(dir);
});

test("report.html opens in headless Chromium with every image loaded and no console error", { timeout: 120_000 }, async (t) => {
  if (findChromium() === null) {
    t.skip("chromium is not installed (npm run setup installs it)");
    return;
  }
  const result = await checkHtmlInBrowser(join(gcrlDir, "report.html"));
  assert.deepEqual(result.consoleErrors, []);
  assert.ok(result.images.length >= 5, `only ${result.images.length} images`);
  for (const img of result.images) assert.ok(img.loaded, `image did not load: ${img.src}`);
  assert.ok(result.ok);
});

test("eval all on a run trained on an unlabelled image folder: probe, kNN, FID and OOD are n/a with reasons", { timeout: 300_000 }, async () => {
  // 40 random 8×8 PNGs (gray values; sharp stores them as RGB) in a flat folder: a dataset without labels or OOD partner.
  const images = join(folder.dir, "flat");
  mkdirSync(images);
  const rng = new Rng(7);
  for (let i = 0; i < 40; i++) {
    const pixels = Buffer.from(Array.from({ length: 64 }, () => Math.floor(rng.next() * 256)));
    await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(images, `img${String(i).padStart(2, "0")}.png`));
  }
  const dir = join(folder.dir, "unlabelled");
  await train(
    tinyConfig((c) => {
      c.data = { ...c.data, name: `folder:${images}`, limit: null, evalImages: 8 };
      c.palette.k = 16;
      c.budget.steps = 2;
      c.train.evalEvery = 0;
    }),
    { out: dir, log: null },
  );
  const report = await evaluate(dir, { batchSize: 16, samples: 4, fidSamples: 8, kidSubsets: 2, kidSubsetSize: 4, completionImages: 1, completionSamples: 1, likelihoodTrainImages: 8 });
  checkCells(report, "eval", []);
  for (const key of ["probe", "knn", "fid"] as const) {
    const v = report[key];
    assert.ok(isNotApplicable(v) && /no labels/.test(v.na), `${key}: ${JSON.stringify(v)}`);
  }
  assert.ok(isNotApplicable(report.ood) && /no OOD dataset/.test(report.ood.na), JSON.stringify(report.ood));
  assert.ok(!isNotApplicable(report.likelihood) && Number.isFinite(report.likelihood.testBitsPerDim));
  assert.ok(!isNotApplicable(report.samples) && !isNotApplicable(report.completions));
  checkReportFiles(dir);
});

test("one OOD score that cannot be computed is n/a with its reason; the others are measured", { timeout: 120_000 }, async () => {
  // A library caller's bad compressor is refused when the evaluation opens, naming the key…
  assert.throws(() => RunEvaluation.open(gcrlDir, { ...SETTINGS, compressor: "zip" as EvalSettings["compressor"] }), { message: 'eval settings: compressor: expected png or deflate, got "zip"' });
  // …so a compressor that fails while scoring is simulated by changing the opened evaluation's
  // settings behind its back: it breaks the complexity score only.
  const ev = RunEvaluation.open(gcrlDir, SETTINGS);
  (ev.settings as { compressor: string }).compressor = "zip";
  try {
    const r = await ev.ood();
    const byName = new Map(r.results.map((s) => [s.name, s.metrics]));
    const complexity = byName.get("complexity");
    assert.ok(isNotApplicable(complexity) && /complexity .*could not be computed: .*compressor must be one of "png", "deflate", got "zip"/.test(complexity.na), JSON.stringify(complexity));
    for (const [name, m] of byName) if (name !== "complexity" && name !== "likelihood-ratio") assert.ok(!isNotApplicable(m), `${name}: ${JSON.stringify(m)}`);
    assert.ok(!r.raw.has("complexity") && r.raw.has("nll"));
  } finally {
    ev.dispose();
  }
});

/** n 8×8 RGB PNGs in dir: smooth colour ramps of a class-specific direction plus noise (many distinct colours). */
async function rgbImages(dir: string, n: number, kind: "horizontal" | "vertical" | "noise", rng: Rng): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const pixels = Buffer.alloc(8 * 8 * 3);
    const base = [rng.int(0, 128), rng.int(0, 128), rng.int(0, 128)];
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          const ramp = kind === "horizontal" ? x * 15 : kind === "vertical" ? y * 15 : rng.int(0, 120);
          pixels[(y * 8 + x) * 3 + c] = Math.min(255, base[c]! + ramp + rng.int(0, 16));
        }
      }
    }
    await sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(join(dir, `img${String(i).padStart(3, "0")}.png`));
  }
}

test("eval all with OOD on an RGB run with K = 512 colours: every OOD score measured, complexity included", { timeout: 300_000 }, async () => {
  const rng = new Rng(11);
  const data = join(folder.dir, "rgb");
  for (const split of ["train", "test"] as const) {
    await rgbImages(join(data, split, "horizontal"), split === "train" ? 48 : 16, "horizontal", rng);
    await rgbImages(join(data, split, "vertical"), split === "train" ? 48 : 16, "vertical", rng);
  }
  const ood = join(folder.dir, "rgb-noise");
  await rgbImages(ood, 24, "noise", rng);
  const dir = join(folder.dir, "rgb-run");
  await train(
    tinyConfig((c) => {
      c.data = { ...c.data, name: `folder:${data}`, limit: null, evalImages: 8 };
      c.palette = { k: 512, samplePixels: 6144 };
      c.budget.steps = 3;
      c.train.evalEvery = 0;
    }),
    { out: dir, log: null },
  );
  const report = await evaluate(dir, {
    batchSize: 32, samples: 4, fidSamples: 8, kidSubsets: 2, kidSubsetSize: 4, completionImages: 1, completionSamples: 1,
    likelihoodTrainImages: 16, probeL2Grid: [1e-3, 1e-1], fidNet: join(folder.dir, "fid-net-rgb"), fidNetTrainImages: 96,
    ood: `folder:${ood}`, oodKnnK: 5,
  });
  checkCells(report, "eval", []);
  assert.ok(!isNotApplicable(report.ood), JSON.stringify(report.ood));
  for (const s of report.ood.scores) if (s.name !== "likelihood-ratio") assert.ok(!isNotApplicable(s.metrics), `${s.name}: ${JSON.stringify(s.metrics)}`);
  assert.match(report.ood.outDataset, /rgb-noise/);
  assert.equal(report.data.ood!.source, report.ood.outDataset);
  assert.match(report.data.ood!.fingerprint, /^[0-9a-f]{16}$/);
  checkReportFiles(dir);
});

test("eval all refuses a run folder whose lock another writer holds, naming it; read-only stages still run", async () => {
  const lock = acquireRunLock(gcrlDir, "gcrl train --resume (a test holder)");
  try {
    const ev = RunEvaluation.open(gcrlDir, SETTINGS);
    try {
      await assert.rejects(evaluateAll(ev), (err: unknown) => err instanceof RunLockError && new RegExp(`pid ${process.pid}`).test(err.message) && /a test holder/.test(err.message));
      assert.ok(!isNotApplicable(await ev.knn()), "reading (features from the cache) needs no lock");
    } finally {
      ev.dispose();
    }
  } finally {
    lock.release();
  }
});
