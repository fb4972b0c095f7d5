// The iGPT probing protocol in RunEvaluation: with representationLayer "auto" a linear probe is
// fitted on every encoder layer's r(x) and the layer with the best *validation* accuracy (a held-out
// part of the training split) is used for the probe, kNN and OOD scores. The test labels are never
// read to choose it: swapping the test split's two class folders (every test label flipped) changes
// every test accuracy but neither the chosen layer nor any validation accuracy. Also: a fixed
// --layer skips the sweep, --concat-layers gives L·d features, --row-blocks adds each layer's row
// block (layer l − ½) to the sweep and the concatenation, and chooseLayer's tie rule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { Rng } from "../../src/data/rng.ts";
import { train } from "../../src/train/trainer.ts";
import { RunEvaluation, chooseLayer, layerRefusal, type ProbeResult } from "../../src/eval/run-evaluation.ts";
import type { EvalSettings } from "../../src/eval/eval-settings.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const folder = tempFolder("layer-sweep");
after(() => folder.cleanup());
const data = join(folder.dir, "stripes");
const runDir = join(folder.dir, "run");
const SETTINGS: Partial<EvalSettings> = { batchSize: 64, probeL2Grid: [1e-3, 1e-1], ood: null };

/** n 8×8 gray PNGs: stripes along one direction, random phase and contrast, plus noise. */
async function stripes(dir: string, n: number, vertical: boolean, rng: Rng): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const phase = rng.int(0, 4);
    const hi = rng.int(120, 256);
    const pixels = Buffer.from(Array.from({ length: 64 }, (_, p) => {
      const t = vertical ? p % 8 : Math.floor(p / 8);
      return Math.min(255, ((t + phase) % 4 < 2 ? hi : 20) + rng.int(0, 30));
    }));
    await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(dir, `${i}.png`));
  }
}

async function probeOf(settings: Partial<EvalSettings>): Promise<{ probe: ProbeResult; knn: number }> {
  const ev = RunEvaluation.open(runDir, { ...SETTINGS, ...settings });
  try {
    return { probe: await ev.probe(), knn: (await ev.knn()).accuracy };
  } finally {
    ev.dispose();
  }
}

before(async () => {
  const rng = new Rng(5);
  for (const split of ["train", "test"]) {
    await stripes(join(data, split, "a-horizontal"), split === "train" ? 60 : 30, false, rng);
    await stripes(join(data, split, "b-vertical"), split === "train" ? 60 : 30, true, rng);
  }
  const config = tinyConfig((c) => {
    c.data = { ...c.data, name: `folder:${data}`, limit: null, evalImages: 8 };
    c.model.encoderLayers = 3;
    c.palette.k = 16;
    c.budget.steps = 6;
    c.train.evalEvery = 0;
  });
  await train(config, { out: runDir, log: null });
});

test("auto: one probe per layer, the best validation accuracy chooses; swapping the test labels changes no choice", async () => {
  const auto = await probeOf({});
  const p = auto.probe;
  assert.ok(p.layers !== null && p.layers.length === 3, "three layers swept");
  assert.equal(p.representationLayer, chooseLayer(p.layers.map((l) => l.validationAccuracy)));
  const chosen = p.layers.find((l) => l.layer === p.representationLayer)!;
  assert.equal(p.testAccuracy, chosen.testAccuracy, "the headline is the chosen layer's probe");
  assert.equal(p.validationAccuracy, chosen.validationAccuracy);
  assert.match(p.layerSelection, /validation/);
  // Every test label flipped: test/a-horizontal and test/b-vertical trade names.
  const testDir = join(data, "test");
  renameSync(join(testDir, "a-horizontal"), join(testDir, "tmp"));
  renameSync(join(testDir, "b-vertical"), join(testDir, "a-horizontal"));
  renameSync(join(testDir, "tmp"), join(testDir, "b-vertical"));
  const swapped = (await probeOf({})).probe;
  assert.equal(swapped.representationLayer, p.representationLayer, "the choice does not depend on the test labels");
  assert.deepEqual(swapped.layers!.map((l) => l.validationAccuracy), p.layers.map((l) => l.validationAccuracy));
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(swapped.layers![i]!.testAccuracy - (1 - p.layers[i]!.testAccuracy)) < 1e-12, "test accuracies flip with the labels");
});

test("a fixed --layer skips the sweep; --concat-layers probes all layers' features side by side", async () => {
  const fixed = await probeOf({ representationLayer: 2 });
  assert.equal(fixed.probe.layers, null);
  assert.equal(fixed.probe.representationLayer, 2);
  assert.equal(fixed.probe.featureDim, 16);
  const concat = await probeOf({ concatLayers: true });
  assert.equal(concat.probe.representationLayer, "concat");
  assert.equal(concat.probe.featureDim, 3 * 16);
  assert.throws(() => RunEvaluation.open(runDir, { representationLayer: 4 }), /representation layer must be "auto" or an integer in \[1, 3\]/);
});

test("--row-blocks: the sweep covers every block (layers l − ½ too), the layers' probes unchanged; --layer 1.5 and --concat-layers use them", async () => {
  const plain = (await probeOf({})).probe;
  const rows = (await probeOf({ rowBlocks: true })).probe;
  assert.deepEqual(rows.layers!.map((l) => l.layer), [0.5, 1, 1.5, 2, 2.5, 3]);
  // the full layers' features and probes are the same numbers with or without the row blocks
  for (const l of plain.layers!) assert.deepEqual(rows.layers!.find((r) => r.layer === l.layer), l, `layer ${l.layer}`);
  assert.equal(rows.representationLayer, rows.layers![chooseLayer(rows.layers!.map((l) => l.validationAccuracy)) - 1]!.layer);
  const rowBlock = await probeOf({ rowBlocks: true, representationLayer: 1.5 });
  assert.equal(rowBlock.probe.representationLayer, 1.5);
  assert.equal(rowBlock.probe.featureDim, 16);
  assert.equal(rowBlock.probe.testAccuracy, rows.layers!.find((l) => l.layer === 1.5)!.testAccuracy, "the fixed row block's probe is the sweep's");
  const concat = await probeOf({ rowBlocks: true, concatLayers: true });
  assert.equal(concat.probe.featureDim, 6 * 16);
  assert.throws(() => RunEvaluation.open(runDir, { representationLayer: 1.5 }), /--layer 1.5: representation layer must be "auto" or an integer in \[1, 3\] for this model \(a row block l - 0.5 needs --row-blocks\)/);
  assert.throws(() => RunEvaluation.open(runDir, { representationLayer: 3.5, rowBlocks: true }), /or a row block in 0.5, 1.5, …, 2.5/);
});

test("layerRefusal: row blocks only in axial models; half layers only with them, within the encoder", () => {
  const axial = { encoderLayers: 2, attention: "axial" } as const;
  assert.equal(layerRefusal({ representationLayer: "auto", rowBlocks: true }, axial), null);
  assert.equal(layerRefusal({ representationLayer: 0.5, rowBlocks: true }, axial), null);
  assert.equal(layerRefusal({ representationLayer: 2, rowBlocks: false }, axial), null);
  assert.match(layerRefusal({ representationLayer: 2.5, rowBlocks: true }, axial)!, /row block in 0.5, 1.5/);
  assert.match(layerRefusal({ representationLayer: 0.5, rowBlocks: false }, axial)!, /needs --row-blocks/);
  assert.match(layerRefusal({ representationLayer: "auto", rowBlocks: true }, { encoderLayers: 2, attention: "dense" })!, /--row-blocks: this model's attention is "dense"; row blocks exist only in axial models/);
});

test("chooseLayer: the best validation accuracy, ties to the shallower layer; refuses non-finite accuracies", () => {
  assert.equal(chooseLayer([0.5, 0.7, 0.6]), 2);
  assert.equal(chooseLayer([0.7, 0.7, 0.6]), 1);
  assert.equal(chooseLayer([0.9]), 1);
  assert.throws(() => chooseLayer([0.5, Number.NaN]), /one finite validation accuracy per layer/);
  assert.throws(() => chooseLayer([]), /chooseLayer/);
});
