// The likelihood-ratio OOD score end to end (Ren et al. 2019): a tiny GCRL run and a background run
// of the same architecture and palette trained on perturbed images (data.perturb 0.2, igpt mode);
// `ood()` with settings.background scores NLL − NLL_background per image, cached in the background
// run's own cache. A background run with another palette is refused: the score is n/a with the
// reason, and the other scores are still measured.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { train } from "../../src/train/trainer.ts";
import { RunEvaluation, isNotApplicable, type OodScores } from "../../src/eval/run-evaluation.ts";
import { likelihoodRatioScores } from "../../src/eval/ood-scores.ts";
import type { EvalSettings } from "../../src/eval/eval-settings.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const folder = tempFolder("likelihood-ratio");
after(() => folder.cleanup());
const runDir = join(folder.dir, "run");
const backgroundDir = join(folder.dir, "background");
const otherPaletteDir = join(folder.dir, "background-k8");
const SETTINGS: Partial<EvalSettings> = { batchSize: 64, trainImages: 128, testImages: 64, oodImages: 64, likelihoodTrainImages: 32, probeL2Grid: [1e-2, 1], representationLayer: 1, ood: "mnist-digits", compressor: "deflate" };

before(async () => {
  await train(tinyConfig(), { out: runDir, log: null });
  await train(tinyConfig((c) => {
    c.objective.mode = "igpt";
    c.data.perturb = 0.2;
  }), { out: backgroundDir, log: null });
  await train(tinyConfig((c) => {
    c.objective.mode = "igpt";
    c.data.perturb = 0.2;
    c.palette.k = 8;
  }), { out: otherPaletteDir, log: null });
});

async function oodWith(background: string | null): Promise<{ r: OodScores; ratio: () => Promise<Float64Array> }> {
  const ev = RunEvaluation.open(runDir, { ...SETTINGS, background });
  try {
    const r = await ev.ood();
    const inNll = await ev.bitsPerDim("test");
    const inBackground = r.raw.has("likelihood-ratio") ? await ev.backgroundBitsPerDim("test") : null;
    return { r, ratio: async () => likelihoodRatioScores(inNll, inBackground!) };
  } finally {
    ev.dispose();
  }
}

test("with a background run: the likelihood-ratio score is NLL − background NLL per image, cached in the background run", async () => {
  const { r, ratio } = await oodWith(backgroundDir);
  const m = r.results.find((x) => x.name === "likelihood-ratio")!.metrics;
  assert.ok(!isNotApplicable(m), JSON.stringify(m));
  assert.ok(m.auroc >= 0 && m.auroc <= 1);
  assert.deepEqual([...r.raw.get("likelihood-ratio")!.inScores], [...(await ratio())]);
  assert.ok(existsSync(join(backgroundDir, "cache")) && readdirSync(join(backgroundDir, "cache")).some((f) => f.startsWith("bits-per-dim-")), "cached in the background run");
});

test("a background run with another palette is refused: n/a with the reason, the other scores measured", async () => {
  const { r } = await oodWith(otherPaletteDir);
  const m = r.results.find((x) => x.name === "likelihood-ratio")!.metrics;
  assert.ok(isNotApplicable(m) && /--background .*background-k8: its model takes 28×28 images of 8 colours/.test(m.na), JSON.stringify(m));
  assert.ok(!isNotApplicable(r.results.find((x) => x.name === "nll")!.metrics));
  const none = (await oodWith(null)).r.results.find((x) => x.name === "likelihood-ratio")!.metrics;
  assert.ok(isNotApplicable(none) && /no background model/.test(none.na));
});
