// A miniature study end to end (tiny model, 3 steps per run, small subsets): every table cell is a
// finite number or an explicit n/a with a reason, the report files exist and reference existing
// images, study.html loads in headless Chromium without errors, and a study interrupted during its
// second run continues where it stopped when started again.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { runStudy, StudyError } from "../../src/study/study-runner.ts";
import { planStudy, parseDuration, type StudySettings } from "../../src/study/study-plan.ts";
import { OOD_SCORES, type StudyReport } from "../../src/study/study-report.ts";
import { checkHtmlInBrowser, findChromium } from "../helpers/browser-check.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const folder = tempFolder("study");
after(() => folder.cleanup());

function settings(patch: (s: StudySettings) => void = () => {}): StudySettings {
  const config = tinyConfig((c) => {
    c.budget = { steps: 3, epochs: null, minutes: null };
    c.train.evalEvery = 0;
    c.train.checkpointEvery = 1;
    c.data.evalImages = 8;
  });
  const s: StudySettings = {
    config,
    configSource: "tiny test config",
    modes: ["gcrl", "igpt", "simclr"],
    sweep: { alpha: null, beta: null, tau: null },
    eval: {
      batchSize: 64,
      trainImages: 200,
      testImages: 80,
      likelihoodTrainImages: 40,
      probeL2Grid: [1e-2],
      samples: 4,
      fidSamples: 16,
      kidSubsets: 2,
      kidSubsetSize: 8,
      completionImages: 1,
      completionSamples: 1,
      oodImages: 60,
      ood: "mnist-digits",
      fidNet: join(folder.dir, "fid-net"),
      fidNetTrainImages: 500,
    },
    background: 0.2,
  };
  patch(s);
  return s;
}

test("parseDuration and planStudy", () => {
  assert.equal(parseDuration("30m"), 30);
  assert.equal(parseDuration("1.5h"), 90);
  assert.equal(parseDuration("90s"), 1.5);
  assert.equal(parseDuration("45"), 45);
  assert.equal(parseDuration("soon"), null);
  assert.equal(parseDuration("0m"), null);
  const plain = planStudy(settings((s) => delete s.background));
  assert.deepEqual(plain.map((p) => [p.id, p.config.objective.mode]), [["gcrl", "gcrl"], ["igpt", "igpt"], ["simclr", "simclr"]]);
  const withBackground = planStudy(settings());
  assert.deepEqual(withBackground.map((p) => [p.id, p.config.objective.mode, p.config.data.perturb, p.role ?? null]), [["background", "igpt", 0.2, "background"], ["gcrl", "gcrl", 0, null], ["igpt", "igpt", 0, null], ["simclr", "simclr", 0, null]]);
  for (const p of plain) assert.deepEqual({ ...p.config, objective: null }, { ...plain[0]!.config, objective: null }, "runs differ only in the objective");
  const swept = planStudy(settings((s) => (s.sweep = { alpha: [0.5, 1], beta: null, tau: [0.1, 0.2] })));
  assert.deepEqual(swept.map((p) => p.id).slice(1), ["gcrl-a0.5-b1-t0.1", "gcrl-a0.5-b1-t0.2", "gcrl-a1-b1-t0.1", "gcrl-a1-b1-t0.2", "igpt", "simclr"]);
  assert.equal(swept[2]!.config.objective.tau, 0.2);
  assert.equal(swept[2]!.config.objective.alpha, 0.5);
});

let report: StudyReport;
const out = join(folder.dir, "mini");

test("a study interrupted in its second run continues where it stopped", { timeout: 900_000 }, async () => {
  const controller = new AbortController();
  const lines: string[] = [];
  const first = await runStudy(settings(), {
    out,
    signal: controller.signal,
    log: (l) => {
      lines.push(l);
      if (l.startsWith("[3/4 igpt] training")) controller.abort();
    },
  });
  assert.equal(first.status, "interrupted");
  assert.ok(existsSync(join(out, "runs", "gcrl", "eval.json")), "the first run was evaluated before the interruption");
  assert.ok(existsSync(join(out, "runs", "igpt", "checkpoint.json")), "the interrupted run saved a checkpoint");
  const gcrlWeights = statSync(join(out, "runs", "gcrl", "model.safetensors")).mtimeMs;

  const again: string[] = [];
  const second = await runStudy(settings(), { out, log: (l) => again.push(l) });
  assert.equal(second.status, "completed");
  report = second.report!;
  assert.ok(again.some((l) => /continuing \(2 of 4 runs done\)/.test(l)), again.join("\n"));
  assert.ok(again.some((l) => l.startsWith("[3/4 igpt] resuming")), "igpt resumes from its checkpoint");
  assert.ok(!again.some((l) => l.startsWith("[2/4 gcrl] training") || l.startsWith("[2/4 gcrl] evaluating")), "gcrl is neither retrained nor re-evaluated");
  assert.ok(!again.some((l) => l.startsWith("[1/4 background]")), "the background run is not trained again");
  assert.ok(lines.some((l) => /\[2\/4 gcrl\] .*likelihood ratio \(background .*runs\/background\)/.test(l)), "gcrl's evaluation used the background run");
  assert.equal(statSync(join(out, "runs", "gcrl", "model.safetensors")).mtimeMs, gcrlWeights);
  const state = JSON.parse(readFileSync(join(out, "study-state.json"), "utf8")) as { runs: Record<string, { steps: number }> };
  for (const id of ["background", "gcrl", "igpt", "simclr"]) assert.equal(state.runs[id]!.steps, 3, `${id} trained its full budget`);
});

test("every table cell is a finite number or an n/a with its reason; report files reference existing images", () => {
  assert.deepEqual(report.rows.map((r) => r.id), ["gcrl", "igpt", "simclr"]);
  for (const r of report.rows) {
    const cells: [string, number | null][] = [["probe", r.probe], ["knn", r.knn], ["bitsPerDim", r.bitsPerDim], ["fid", r.fid], ...OOD_SCORES.map((s) => [`auroc:${s}`, r.auroc[s]] as [string, number | null])];
    for (const [col, v] of cells) {
      if (v === null) assert.ok((r.na[col] ?? "").length > 0, `${r.id} ${col}: null without a reason`);
      else assert.ok(Number.isFinite(v), `${r.id} ${col} = ${v}`);
    }
  }
  const simclr = report.rows[2]!;
  for (const col of ["bitsPerDim", "fid", "auroc:nll", "auroc:typicality", "auroc:complexity", "auroc:likelihood-ratio"]) assert.match(simclr.na[col] ?? "", /simclr/);
  for (const r of report.rows.slice(0, 2)) assert.deepEqual(r.na, {}, `${r.id} has every number`);
  for (const f of ["study.json", "study.md", "study.html"]) assert.ok(existsSync(join(out, f)), `${f} missing`);
  const md = readFileSync(join(out, "study.md"), "utf8");
  const images = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
  assert.ok(images.includes("runs/gcrl/eval/samples.png") && images.includes("runs/igpt/eval/samples.png"), "gcrl and igpt samples side by side");
  for (const p of images) assert.ok(existsSync(join(out, p)), `study image ${p} does not exist`);
  assert.match(md, /84\.2%/, "the raw-pixel reference point is listed");
  assert.match(md, /not measured here/);
  assert.match(md, /Background model of the likelihood-ratio score: `runs\/background`.*data.perturb 0.2/);
});

test("study.html opens in headless Chromium with every image loaded and no console error", { timeout: 120_000 }, async (t) => {
  if (findChromium() === null) {
    t.skip("chromium is not installed (npm run setup installs it)");
    return;
  }
  const result = await checkHtmlInBrowser(join(out, "study.html"));
  assert.deepEqual(result.consoleErrors, []);
  assert.ok(result.images.length >= 6, `only ${result.images.length} images`);
  for (const img of result.images) assert.ok(img.loaded, `image did not load: ${img.src}`);
  assert.ok(result.ok);
});

test("restarting a study folder with other settings is refused with the differing keys", async () => {
  await assert.rejects(
    runStudy(settings((s) => (s.config.optim.lr = 5e-3)), { out, log: () => {} }),
    (err: unknown) => err instanceof StudyError && /config\.optim\.lr/.test(err.message) && /another --out/.test(err.message),
  );
});
