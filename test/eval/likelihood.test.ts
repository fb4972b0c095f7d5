// Per-image bits/dim (src/eval/likelihood.ts, image-pass.ts) on tiny float64 models:
// * equal to a hand computation from decode() logits (log-softmax in plain JS, gathered at the
//   tokens, averaged over the H·W pixels, divided by ln 2), axial and dense;
// * the mean over a batch equals generativeLoss / ln 2 (src/train/objectives.ts);
// * invariant to the batching (batch 1 vs 7 vs all);
// * eval mode during the pass (dropout off), the caller's mode restored;
// * bad arguments are errors naming the argument.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel, type AttentionKind } from "../../src/model/index.ts";
import { generativeLoss } from "../../src/train/objectives.ts";
import { imageBitsPerDim, bitsPerDimOfLogits } from "../../src/eval/likelihood.ts";
import { passImages } from "../../src/eval/features.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { prng } from "../helpers/gradcheck.ts";

const H = 4;
const W = 5;
const K = 6;
const N = 13;

function model(attention: AttentionKind, extra: { dropout?: number } = {}): GCRLModel {
  manualSeed(21);
  return new GCRLModel({ height: H, width: W, vocabSize: K, d: 16, heads: 2, encoderLayers: 2, decoderLayers: 1, projectionDim: 8, attention, ...extra }).to("float64");
}

function randomTokens(n: number, seed: number): Tensor {
  const next = prng(seed);
  return tensor(Array.from({ length: n * H * W }, () => Math.floor(next() * K)), { dtype: "int64", shape: [n, H, W] });
}

/** −(1/(H·W)) Σ log p / ln 2 per image, from logits (N, H, W, K) in plain JS. */
function handBitsPerDim(logits: number[], toks: number[], n: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    let sum = 0;
    for (let p = 0; p < H * W; p++) {
      const base = (b * H * W + p) * K;
      const row = logits.slice(base, base + K);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      sum += row[toks[b * H * W + p]!]! - lse;
    }
    out.push(-sum / (H * W) / Math.LN2);
  }
  return out;
}

for (const attention of ["axial", "dense"] as const) {
  test(`${attention}: per-image bits/dim equals the hand computation from decode() logits`, () =>
    tidy(() => {
      const m = model(attention).eval();
      const x = randomTokens(N, 3);
      const logits = noGrad(() => m.decode(x, m.encode(x).hidden));
      const want = handBitsPerDim(logits.toArray(), x.toArray(), N);
      const got = imageBitsPerDim(m, x, { batchSize: 5 });
      assert.equal(got.length, N);
      assertClose(Array.from(got), want, 1e-12, "bits/dim per image");
      assertClose(bitsPerDimOfLogits(logits, x), want, 1e-12, "bitsPerDimOfLogits");
      // a random model is roughly uniform over the palette: log2(6) = 2.585 bits
      for (const v of got) assert.ok(Math.abs(v - Math.log2(K)) < 1, `bits/dim ${v} far from log2(K)`);
      m.dispose();
    }));
}

test("the mean of the per-image values equals generativeLoss / ln 2 of the batch", () =>
  tidy(() => {
    const m = model("axial").eval();
    const x = randomTokens(N, 4);
    const loss = noGrad(() => generativeLoss(m.decode(x, m.encode(x).hidden), x)).item();
    const got = imageBitsPerDim(m, x);
    const mean = got.reduce((a, b) => a + b, 0) / N;
    assertClose(mean, loss / Math.LN2, 1e-12, "mean bits/dim");
    m.dispose();
  }));

test("batching does not change the values (batch 1, 7 and all)", () =>
  tidy(() => {
    const m = model("axial").eval();
    const x = randomTokens(N, 5);
    const all = Array.from(imageBitsPerDim(m, x, { batchSize: 1000 }));
    const progress: [number, number][] = [];
    const seven = imageBitsPerDim(m, x, { batchSize: 7, onProgress: (d, t) => progress.push([d, t]) });
    assert.deepEqual(progress, [[7, 13], [13, 13]]);
    assertClose(Array.from(seven), all, 1e-12, "batch 7 vs all");
    assertClose(Array.from(imageBitsPerDim(m, x, { batchSize: 1 })), all, 1e-12, "batch 1 vs all");
    // features and NLL in one pass give the same NLL
    const both = passImages(m, x, { batchSize: 4, withNll: true });
    assertClose(Array.from(both.bitsPerDim!), all, 1e-12, "withFeatures + withNll");
    assert.deepEqual(both.features!.shape, [N, 16]);
    m.dispose();
  }));

test("the pass runs in eval mode (dropout off) and restores the caller's mode", () =>
  tidy(() => {
    const m = model("axial", { dropout: 0.5 });
    assert.equal(m.training, true);
    const x = randomTokens(4, 6);
    const a = imageBitsPerDim(m, x);
    assert.equal(m.training, true, "training mode restored");
    const b = imageBitsPerDim(m, x);
    assert.deepEqual(Array.from(a), Array.from(b), "deterministic: no dropout during the pass");
    m.eval();
    assertClose(Array.from(imageBitsPerDim(m, x)), Array.from(a), 0, "same as in eval mode");
    assert.equal(m.training, false, "eval mode restored");
    m.dispose();
  }));

test("no images: empty results", () =>
  tidy(() => {
    const m = model("axial");
    const x = randomTokens(0, 1);
    assert.equal(imageBitsPerDim(m, x).length, 0);
    const r = passImages(m, x, { withNll: true });
    assert.deepEqual(r.features!.shape, [0, 16]);
    m.dispose();
  }));

test("bad arguments are errors naming the argument", () =>
  tidy(() => {
    const m = model("axial");
    const x = randomTokens(2, 7);
    assert.throws(() => imageBitsPerDim(m, tensor([1, 2, 3], { dtype: "int64" })), /passImages: tokens must be int64 of shape \(N, 4, 5\).*got int64\[3\]/);
    assert.throws(() => imageBitsPerDim(m, x.to("float32")), /passImages: tokens must be int64.*got float32\[2, 4, 5\]/);
    assert.throws(() => imageBitsPerDim(m, x, { batchSize: 0 }), /passImages: batchSize must be a positive integer, got 0/);
    assert.throws(() => passImages(m, x, { withFeatures: false }), /nothing to compute/);
    assert.throws(() => bitsPerDimOfLogits(tensor([1, 2]), x), /bitsPerDimOfLogits: expected logits \(B, H, W, K\)/);
    m.dispose();
  }));
