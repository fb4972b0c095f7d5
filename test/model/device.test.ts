// Device placement end to end: the same computations with the model on GCRL_TEST_DEVICE
// (test/helpers/test-device.ts; "cpu" by default, "cuda" in scripts/cuda-check.sh) and on the CPU
// agree, and nothing on the way mixes devices — every tensor a model meets (tokens, masks, positions,
// NT-Xent's labels, the kv caches, the palette's tables) is made or moved where the model is, and
// what CPU-only code reads next (features for the probe and kNN, samples and completions for the
// pictures and FID) comes back on the CPU. On the CPU the two sides are the same computation, so
// this file mostly guards the plumbing there; on a GPU it is the check of it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { AdamW, clipGradNorm, manualSeed, noGrad, randint, tidy, weightDecayGroups, zeros, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/gcrl-model.ts";
import type { ModelConfig } from "../../src/model/config.ts";
import { hybridLoss } from "../../src/train/objectives.ts";
import { passImages } from "../../src/eval/image-pass.ts";
import { completeTokens, completionGridRows, sampleTokens, sampleTokensNaive } from "../../src/eval/sampling.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";
import { train } from "../../src/train/trainer.ts";
import { loadRun } from "../../src/train/load-run.ts";
import { RunEvaluation } from "../../src/eval/run-evaluation.ts";
import { TEST_DEVICE } from "../helpers/test-device.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const H = 8;
const W = 8;
const K = 6;
const CONFIG = { height: H, width: W, vocabSize: K, d: 16, heads: 2, encoderLayers: 2, decoderLayers: 1, projectionDim: 8 } satisfies Partial<ModelConfig> & Pick<ModelConfig, "height" | "width" | "vocabSize">;

/** The same model (same seed) on the CPU and on TEST_DEVICE. */
function twins(config: Partial<ModelConfig> & Pick<ModelConfig, "height" | "width" | "vocabSize"> = CONFIG): { cpu: GCRLModel; dev: GCRLModel } {
  manualSeed(3);
  const cpu = new GCRLModel(config);
  manualSeed(3);
  const dev = new GCRLModel(config).toDevice(TEST_DEVICE);
  return { cpu, dev };
}

/** Largest |a − b| of two tensors on any devices, as float64 on the CPU. */
function maxDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.toDevice("cpu", "float64").sub(b.toDevice("cpu", "float64")).abs().max().item());
}

/** TEST_DEVICE as tensors report it ("cuda" → "cuda:0"). */
const DEVICE = tidy(() => zeros([1], { device: TEST_DEVICE }).device);

const dispose = (...models: GCRLModel[]): void => models.forEach((m) => m.dispose());

test(`forward on ${TEST_DEVICE}: encode, every layer's r(x) and decode equal the CPU's (axial and dense)`, () => {
  for (const attention of ["axial", "dense"] as const) {
    const { cpu, dev } = twins({ ...CONFIG, attention });
    tidy(() => noGrad(() => {
      const x = randint(0, K, [3, H, W]);
      const a = cpu.eval().encode(x);
      const b = dev.eval().encode(x.toDevice(TEST_DEVICE));
      assert.equal(b.representation.device, DEVICE);
      assert.ok(maxDiff(a.representation, b.representation) < 1e-4, `${attention}: representation`);
      assert.ok(maxDiff(cpu.decode(x, a.hidden), dev.decode(x.toDevice(TEST_DEVICE), b.hidden)) < 1e-4, `${attention}: logits`);
      const layers = dev.encodeAllLayers(x.toDevice(TEST_DEVICE)).representations;
      cpu.encodeAllLayers(x).representations.forEach((r, l) => assert.ok(maxDiff(r, layers[l]!) < 1e-4, `${attention}: layer ${l + 1}`));
    }));
    dispose(cpu, dev);
  }
});

test(`a training step on ${TEST_DEVICE} (hybrid loss, backward, clipping, AdamW) matches the CPU's`, () => {
  const { cpu, dev } = twins();
  const objective = { mode: "gcrl" as const, alpha: 1, beta: 1, tau: 0.1 };
  const optimizers = [cpu, dev].map((m) => new AdamW(weightDecayGroups(m.train(), 0.01), { lr: 1e-2 }));
  manualSeed(4);
  const weak = randint(0, K, [6, H, W]);
  const strong = randint(0, K, [6, H, W]);
  const losses = [cpu, dev].map((m, i) => {
    const device = m.tok.weight.device;
    return tidy(() => {
      optimizers[i]!.zeroGrad();
      const r = hybridLoss(objective, m, weak.toDevice(device), strong.toDevice(device)); // NT-Xent's eye/arange on z's device
      r.gradientLoss.backward();
      const norm = clipGradNorm(m.parameters(), 1.0);
      optimizers[i]!.step();
      return [r.loss.item(), norm];
    });
  });
  assert.ok(Math.abs(losses[0]![0]! - losses[1]![0]!) < 1e-4 * Math.abs(losses[0]![0]!), `loss ${losses[0]![0]} vs ${losses[1]![0]}`);
  assert.ok(Math.abs(losses[0]![1]! - losses[1]![1]!) < 1e-3 * losses[0]![1]!, `gradient norm ${losses[0]![1]} vs ${losses[1]![1]}`);
  const after = dev.parameters();
  cpu.parameters().forEach((p, i) => {
    assert.equal(after[i]!.device, DEVICE);
    assert.ok(maxDiff(p, after[i]!) < 1e-4, `parameter ${i} after the step`);
  });
  optimizers.forEach((o) => o.dispose());
  weak.dispose();
  strong.dispose();
  dispose(cpu, dev);
});

test(`bf16 mixed precision on ${TEST_DEVICE}: float32 logits within bf16 rounding of fp32's`, () => {
  const { cpu, dev } = twins();
  dev.setCompute({ precision: "bf16" });
  tidy(() => noGrad(() => {
    const x = randint(0, K, [2, H, W]);
    const a = cpu.eval().forward(x).logits!;
    const b = dev.eval().forward(x.toDevice(TEST_DEVICE)).logits!;
    assert.equal(b.dtype, "float32");
    const scale = a.abs().max().item();
    assert.ok(maxDiff(a, b) < 0.05 * scale, `bf16 logits differ by ${maxDiff(a, b)} (scale ${scale})`);
  }));
  dispose(cpu, dev);
});

test(`sampling on ${TEST_DEVICE}: cached and naive paths give the CPU's tokens; completions paint next to CPU originals`, () => {
  const { cpu, dev } = twins();
  noGrad(() => {
    for (const m of [cpu, dev]) for (const p of m.parameters()) p.mul_(4); // logits far apart: no ties decided by rounding
  });
  const options = { seed: 5, batchSize: 3 };
  const reference = sampleTokens(cpu, 4, options);
  const fast = sampleTokens(dev, 4, options);
  const naive = sampleTokensNaive(dev, 2, options);
  assert.equal(fast.device, DEVICE, "samples come back where the model is (the library's contract)");
  assert.deepEqual(fast.toArray(), reference.toArray());
  assert.deepEqual(naive.toArray(), reference.toArray().slice(0, 2 * H * W));
  const originals = reference.narrow(0, 0, 2); // CPU tokens, as the data's
  const completed = completeTokens(dev, originals, 3, 2, options); // on the model's device
  const palette = new PaletteQuantizer(Array.from({ length: K }, (_, j) => [Math.round((255 * j) / (K - 1))]));
  const rows = tidy(() => completionGridRows(palette, originals, completed, 3)); // `gcrl complete --device cuda`: one device for cat
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0]!.shape, [4, H, W, 1]);
  for (const t of [reference, fast, naive, completed, ...rows]) t.dispose();
  palette.dispose();
  dispose(cpu, dev);
});

test(`passImages on ${TEST_DEVICE}: features and bits/dim as the CPU's, features back on the CPU`, () => {
  const { cpu, dev } = twins();
  const tokens = randint(0, K, [10, H, W]); // CPU tokens, as the evaluation's splits
  const a = passImages(cpu, tokens, { batchSize: 4, withNll: true, allLayers: true });
  const b = passImages(dev, tokens, { batchSize: 4, withNll: true, allLayers: true });
  b.layerFeatures!.forEach((f, l) => {
    assert.equal(f.device, "cpu", "features for the CPU-only probe, kNN and Mahalanobis");
    assert.ok(maxDiff(a.layerFeatures![l]!, f) < 1e-4);
  });
  a.bitsPerDim!.forEach((v, i) => assert.ok(Math.abs(v - b.bitsPerDim![i]!) < 1e-5, `bits/dim of image ${i}`));
  for (const f of [...a.layerFeatures!, ...b.layerFeatures!]) f.dispose();
  tokens.dispose();
  dispose(cpu, dev);
});

test(`the palette on ${TEST_DEVICE}: quantize and dequantize as on the CPU, on the images' device`, () => {
  const palette = new PaletteQuantizer([[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 255, 255]]);
  tidy(() => {
    const images = randint(0, 256, [2, 4, 4, 3], { dtype: "uint8" });
    const tokens = palette.quantize(images.toDevice(TEST_DEVICE));
    assert.equal(tokens.device, DEVICE);
    assert.deepEqual(tokens.toArray(), palette.quantize(images).toArray());
    assert.deepEqual(palette.dequantize(tokens).toArray(), palette.dequantize(tokens.cpu()).toArray());
  });
  palette.dispose();
});

const folder = tempFolder("device");
after(() => folder.cleanup());

test(`a tiny run trained, loaded and evaluated on ${TEST_DEVICE}: periodic evaluation, probe, kNN, likelihood, samples and completions`, async () => {
  const dir = `${folder.dir}/run`;
  const config = tinyConfig((c) => {
    c.budget.steps = 4;
    c.train.evalEvery = 2;
    c.train.checkpointEvery = 0;
    c.data.evalImages = 16;
  });
  const result = await train(config, { out: dir, device: TEST_DEVICE, log: null, knnTrainImages: 32 });
  assert.equal(result.status, "completed");
  assert.ok(result.lastEval !== null && Number.isFinite(result.lastEval.testBitsPerDim!) && Number.isFinite(result.lastEval.knnAccuracy!));

  const run = loadRun(dir, { device: TEST_DEVICE });
  assert.equal(run.model.tok.weight.device, DEVICE);
  run.model.dispose();
  run.palette.dispose();

  const settings = { trainImages: 48, testImages: 16, batchSize: 16, probeL2Grid: [1e-2], samples: 2, completionImages: 2, completionSamples: 1, fidSamples: 0, ood: null };
  const ev = RunEvaluation.open(dir, settings, () => {}, { device: TEST_DEVICE });
  try {
    assert.equal(ev.device, TEST_DEVICE);
    const probe = await ev.probe();
    assert.ok(probe.testAccuracy >= 0 && probe.testAccuracy <= 1);
    assert.ok((await ev.knn()).accuracy >= 0);
    const likelihood = await ev.likelihood();
    assert.ok("testBitsPerDim" in likelihood && Number.isFinite(likelihood.testBitsPerDim));
    assert.equal((await ev.features("test")).device, "cpu");
    assert.equal(ev.samples().tokens.device, "cpu", "samples are kept on the CPU, as the cache returns them");
    const { completions, originals } = await ev.completions();
    assert.equal(completions.device, "cpu");
    assert.equal(originals.device, "cpu");
    completions.dispose();
  } finally {
    ev.dispose();
  }
});
