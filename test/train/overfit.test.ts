// A tiny GCRLModel memorises 64 real images in each mode (issue 4's check): the generative loss
// (gcrl, igpt) falls below 25% of its starting value and the contrastive top-1 accuracy (gcrl,
// simclr) exceeds 0.9. Each mode trains until it meets its criteria or hits a step cap, and the
// test reports how many steps it took.
//
// Data: the first 64 Fashion-MNIST training images, average-pooled to 8×8 and quantised to K = 4
// levels by thresholds at 1/4, 2/4, 3/4 of full scale. Weak view: the image. Strong view (fixed):
// the image shifted right by one pixel (background fill) with 30% of its pixels replaced by random
// tokens, so a random model ranks the positive first for only ~20% of anchors. Model: d = 32,
// 2 heads, 1 encoder + 1 decoder layer; AdamW lr 3e-3, full batch. About 20 s on 2 idle cores.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tensor, tidy, manualSeed, adaptiveAvgPool2d, AdamW, keep, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { hybridLoss, natsToBitsPerDim, type ObjectiveMode } from "../../src/train/objectives.ts";
import { prng } from "../helpers/gradcheck.ts";

const FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const N = 64;
const S = 8;
const K = 4;
const MAX_STEPS = 400;

/** (N, S, S) int64 tokens of the first N Fashion-MNIST training images. */
function loadTokens(): Tensor {
  if (!existsSync(FASHION)) throw new Error(`${FASHION} not found: install the Debian package dataset-fashion-mnist (scripts/setup.sh does)`);
  const raw = gunzipSync(readFileSync(FASHION));
  assert.equal(raw.readUInt32BE(0), 2051, "idx3 magic number");
  const pixels = raw.subarray(16, 16 + N * 28 * 28); // 16-byte header: magic, count, rows, cols
  return keep(
    tidy(() => {
      const x = tensor(Float32Array.from(pixels, (v) => v / 255), { shape: [N, 1, 28, 28] });
      return adaptiveAvgPool2d(x, S).reshape([N, S, S]).mul(K).floor().clamp(0, K - 1).long();
    }),
  );
}

/** The fixed strong view: shifted right by one pixel (token 0 = background enters at the left), 30% of pixels randomised. */
function strongView(weak: Tensor): Tensor {
  const next = prng(2024);
  const w = weak.toArray();
  const out = w.map((_, idx) => {
    const j = idx % S;
    const shifted = j === 0 ? 0 : w[idx - 1]!;
    return next() < 0.3 ? Math.floor(next() * K) : shifted;
  });
  return keep(tensor(out, { dtype: "int64", shape: [N, S, S] }));
}

interface Outcome {
  steps: number;
  generativeStart: number;
  generativeEnd: number;
  accuracyStart: number;
  accuracyEnd: number;
  seconds: number;
}

function overfit(mode: ObjectiveMode, weak: Tensor, strong: Tensor): Outcome {
  manualSeed(0);
  const model = new GCRLModel({ height: S, width: S, vocabSize: K, d: 32, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 32 });
  const opt = new AdamW([{ params: model.decayParameters(), weightDecay: 0.01 }, { params: model.noDecayParameters(), weightDecay: 0 }], { lr: 3e-3 });
  const wantGenerative = mode !== "simclr";
  const wantContrastive = mode !== "igpt";
  const t0 = performance.now();
  let outcome: Outcome | null = null;
  let generativeStart = NaN;
  let accuracyStart = NaN;
  for (let step = 0; step <= MAX_STEPS; step++) {
    // The losses are those of the current weights on all 64 images (computed before this step's update).
    const [generative, accuracy] = tidy(() => {
      opt.zeroGrad();
      const r = hybridLoss({ mode, tau: 0.1 }, model, weak, mode === "igpt" ? null : strong);
      assert.equal(r.generative === null, !wantGenerative);
      assert.equal(r.contrastiveAccuracy === null, !wantContrastive);
      r.loss.backward();
      opt.step();
      return [r.generative?.item() ?? NaN, r.contrastiveAccuracy?.item() ?? NaN];
    });
    if (step === 0) [generativeStart, accuracyStart] = [generative, accuracy];
    const generativeMet = !wantGenerative || generative < 0.25 * generativeStart;
    const contrastiveMet = !wantContrastive || accuracy > 0.9;
    if ((generativeMet && contrastiveMet) || step === MAX_STEPS) {
      outcome = { steps: step, generativeStart, generativeEnd: generative, accuracyStart, accuracyEnd: accuracy, seconds: (performance.now() - t0) / 1000 };
      break;
    }
  }
  opt.dispose();
  model.dispose();
  return outcome!;
}

describe("a tiny model overfits 64 Fashion-MNIST images (8×8, K = 4)", () => {
  const weak = loadTokens();
  const strong = strongView(weak);

  for (const mode of ["gcrl", "igpt", "simclr"] as const) {
    test(mode, (t) => {
      const o = overfit(mode, weak, strong);
      const gen = mode === "simclr" ? "" : ` generative ${o.generativeStart.toFixed(3)} → ${o.generativeEnd.toFixed(3)} nats (${natsToBitsPerDim(o.generativeEnd).toFixed(3)} bits/dim)`;
      const acc = mode === "igpt" ? "" : ` contrastive top-1 ${o.accuracyStart.toFixed(3)} → ${o.accuracyEnd.toFixed(3)}`;
      t.diagnostic(`${mode}: ${o.steps} steps, ${o.seconds.toFixed(1)} s;${gen}${acc}`);
      if (mode !== "simclr") {
        assert.ok(o.generativeEnd < 0.25 * o.generativeStart, `${mode}: generative loss ${o.generativeEnd} not below 25% of its start ${o.generativeStart} after ${o.steps} steps`);
      }
      if (mode !== "igpt") {
        assert.ok(o.accuracyStart < 0.5, `${mode}: the strong view is too easy (accuracy ${o.accuracyStart} before training)`);
        assert.ok(o.accuracyEnd > 0.9, `${mode}: contrastive accuracy ${o.accuracyEnd} not above 0.9 after ${o.steps} steps`);
      }
    });
  }
});
