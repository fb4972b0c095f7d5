// Sampling and completion (src/eval/sampling.ts, src/eval/categorical.ts): the categorical draw on
// hand-computed cases; the fast row-by-row sampler against the naive whole-network-per-pixel
// reference (same seed → same tokens, any batch size); top-k 1 against greedy decoding computed
// here from decode(); completions (given rows kept, nothing below them leaks in, reproducible);
// the empirical colour frequencies of a model whose logits are a known constant against
// softmax(bias / T) (chi-square); dense models through their cached raster path; option validation; flat memory.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { manualSeed, noGrad, tensor, tidy, zeros, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/gcrl-model.ts";
import { causalMask } from "../../src/model/attention.ts";
import { sampleCategorical, checkCategoricalParams } from "../../src/eval/categorical.ts";
import { completeTokens, completionGridRows, maskedImages, sampleTokens, sampleTokensNaive } from "../../src/eval/sampling.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

const H = 8;
const W = 8;
const K = 4;

/** A tiny model with weights large enough that the logits depend strongly on the pixels before. */
function tinyModel(attention: "axial" | "dense" = "axial", seed = 1): GCRLModel {
  manualSeed(seed);
  const model = new GCRLModel({ height: H, width: W, vocabSize: K, d: 16, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 8, attention });
  noGrad(() => {
    for (const p of model.parameters()) p.normal_(0, 0.5);
  });
  return model;
}

/** Greedy decoding computed independently: encode + decode the full image, argmax at (i, j). */
function greedy(model: GCRLModel, start: Tensor, givenRows: number): number[] {
  return noGrad(() => {
    const [n] = start.shape as [number];
    const tokens = start.toArray();
    for (let b = 0; b < n; b++) tokens.fill(0, b * H * W + givenRows * W, (b + 1) * H * W);
    for (let i = givenRows; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const best = tidy(() => {
          const t = tensor(tokens, { shape: [n, H, W], dtype: "int64" });
          const logits = model.decode(t, model.encode(t).hidden); // (n, H, W, K)
          return logits.select(1, i).select(1, j).argmax(1).toArray();
        });
        for (let b = 0; b < n; b++) tokens[b * H * W + i * W + j] = best[b]!;
      }
    }
    return tokens;
  });
}

function take(t: Tensor): number[] {
  const a = t.toArray();
  t.dispose();
  return a;
}

describe("sampleCategorical: hand-computed draws", () => {
  // logits ln(1), ln(2), ln(3): p = 1/6, 2/6, 3/6; CDF 1/6, 1/2, 1.
  const logits = [0, Math.log(2), Math.log(3)];
  const all = { temperature: 1, topK: 0 };

  test("inverse CDF at T = 1", () => {
    assert.deepEqual([0, 0.1, 0.17, 0.3, 0.49, 0.51, 0.9, 0.999999].map((u) => sampleCategorical(logits, 0, 3, all, u)), [0, 0, 1, 1, 1, 2, 2, 2]);
  });

  test("temperature 2: weights 1, √2, √3 → CDF 0.2412, 0.5822, 1", () => {
    const t2 = { temperature: 2, topK: 0 };
    assert.deepEqual([0.24, 0.25, 0.58, 0.59].map((u) => sampleCategorical(logits, 0, 3, t2, u)), [0, 1, 1, 2]);
  });

  test("top-k 2 keeps colours 1 and 2: p = 0.4, 0.6; an offset reads the right slice", () => {
    const padded = [9, 9, ...logits];
    const k2 = { temperature: 1, topK: 2 };
    assert.deepEqual([0, 0.39, 0.41, 0.99].map((u) => sampleCategorical(padded, 2, 3, k2, u)), [1, 1, 2, 2]);
  });

  test("ties at the top-k boundary go to the lower index; top-k 1 is argmax", () => {
    const tied = [1, 1, 1, 0];
    assert.deepEqual([0.2, 0.7, 0.99].map((u) => sampleCategorical(tied, 0, 4, { temperature: 1, topK: 2 }, u)), [0, 1, 1]);
    assert.deepEqual([0, 0.5, 0.999].map((u) => sampleCategorical([0.3, 2, -1, 1.9], 0, 4, { temperature: 5, topK: 1 }, u)), [1, 1, 1]);
  });

  test("-Infinity logits are never drawn; NaN / +Infinity are errors", () => {
    assert.equal(sampleCategorical([-Infinity, 0, -Infinity], 0, 3, all, 0.999), 1);
    assert.throws(() => sampleCategorical([0, NaN], 0, 2, all, 0.5), /non-finite logit \(NaN\) for colour 1/);
    assert.throws(() => sampleCategorical([Infinity, 0], 0, 2, all, 0.5), /non-finite logit/);
  });

  test("parameter checks name the parameter", () => {
    assert.throws(() => checkCategoricalParams("f", { temperature: 0, topK: 0 }, 4), /f: temperature must be a finite number > 0, got 0/);
    assert.throws(() => checkCategoricalParams("f", { temperature: 1, topK: 5 }, 4), /f: topK must be an integer in \[0, 4\]/);
  });
});

describe("sampleTokens: the fast path equals the naive reference", () => {
  const model = tinyModel();

  for (const [seed, options] of [
    [0, {}],
    [1, { temperature: 0.7 }],
    [2, { topK: 2 }],
    [3, { temperature: 0.7, topK: 2 }],
  ] as const) {
    test(`seed ${seed}, ${JSON.stringify(options)}: same tokens for batch 1, 2 and 5 of 5 images`, () => {
      const naive = take(sampleTokensNaive(model, 5, { ...options, seed, batchSize: 5 }));
      const fast = take(sampleTokens(model, 5, { ...options, seed, batchSize: 2 }));
      const fastOne = take(sampleTokens(model, 5, { ...options, seed, batchSize: 1 }));
      assert.deepEqual(fast, naive);
      assert.deepEqual(fastOne, naive);
      assert.ok(naive.every((v) => Number.isInteger(v) && v >= 0 && v < K));
    });
  }

  test("the tokens depend on the seed, and image b is the same whatever n", () => {
    const a = take(sampleTokens(model, 3, { seed: 5 }));
    const b = take(sampleTokens(model, 3, { seed: 6 }));
    const first = take(sampleTokens(model, 1, { seed: 5 }));
    assert.notDeepEqual(a, b);
    assert.deepEqual(first, a.slice(0, H * W));
    assert.ok(new Set(a).size > 1, "not a constant image");
  });

  test("top-k 1 equals greedy argmax decoding computed from decode()", () => {
    const sampled = take(sampleTokens(model, 2, { topK: 1, seed: 9, temperature: 3 }));
    const start = zeros([1, H, W], { dtype: "int64" });
    const expected = greedy(model, start, 0);
    start.dispose();
    assert.deepEqual(sampled, [...expected, ...expected]);
  });

  test("progress per row, eval mode during sampling, the model's mode restored, memory flat", () => {
    model.train();
    const calls: [number, number][] = [];
    causalMask(W, "cpu");
    causalMask(H, "cpu"); // attention's mask cache is kept by design: fill it before counting
    countLiveTensors();
    const before = liveTensorCount();
    const t = sampleTokens(model, 5, { batchSize: 2, onProgress: (done, total) => calls.push([done, total]) });
    assert.equal(liveTensorCount(), before + 1, "only the result survives");
    t.dispose();
    assert.equal(model.training, true);
    assert.deepEqual(calls, Array.from({ length: 3 * H }, (_, r) => [r + 1, 3 * H]));
    model.eval();
  });
});

describe("completeTokens", () => {
  const model = tinyModel("axial", 2);
  const originals = tidy(() => {
    const values = Array.from({ length: 3 * H * W }, (_, p) => (p * 7 + Math.floor(p / 5)) % K);
    return tensor(values, { shape: [3, H, W], dtype: "int64" });
  });
  const orig = originals.toArray();

  test("shape (N, samples, H, W); rows < givenRows copied exactly; reproducible; seeds differ", () => {
    const out = completeTokens(model, originals, 3, 2, { seed: 4, temperature: 0.7 });
    assert.deepEqual(out.shape, [3, 2, H, W]);
    assert.equal(out.dtype, "int64");
    const a = take(out);
    for (let n = 0; n < 3; n++) {
      for (let s = 0; s < 2; s++) {
        const got = a.slice((n * 2 + s) * H * W, (n * 2 + s) * H * W + 3 * W);
        assert.deepEqual(got, orig.slice(n * H * W, n * H * W + 3 * W), `image ${n} sample ${s}`);
      }
    }
    assert.deepEqual(take(completeTokens(model, originals, 3, 2, { seed: 4, temperature: 0.7, batchSize: 4 })), a);
    assert.notDeepEqual(take(completeTokens(model, originals, 3, 2, { seed: 5, temperature: 0.7 })), a);
    assert.notDeepEqual(a.slice(0, H * W), a.slice(H * W, 2 * H * W), "two samples of one image differ");
  });

  test("the rows below givenRows do not leak into the completion", () => {
    const scrambled = tidy(() => {
      const t = originals.clone();
      t.narrow(1, 4, H - 4).fill_(K - 1);
      return t;
    });
    const a = take(completeTokens(model, originals, 4, 1, { seed: 1 }));
    const b = take(completeTokens(model, scrambled, 4, 1, { seed: 1 }));
    scrambled.dispose();
    assert.deepEqual(a, b);
  });

  test("top-k 1 completion equals greedy decoding from the given rows", () => {
    const got = take(completeTokens(model, originals, 5, 1, { topK: 1 }));
    assert.deepEqual(got, greedy(model, originals, 5));
  });

  test("givenRows = H returns copies; givenRows = 0 ignores the images", () => {
    assert.deepEqual(take(completeTokens(model, originals, H, 2)), [0, 1, 2].flatMap((n) => [0, 1].flatMap(() => orig.slice(n * H * W, (n + 1) * H * W))));
    const other = zeros([3, H, W], { dtype: "int64" });
    assert.deepEqual(take(completeTokens(model, originals, 0, 1, { seed: 3 })), take(completeTokens(model, other, 0, 1, { seed: 3 })));
    other.dispose();
  });

  test("int32 tokens are accepted", () => {
    const t32 = originals.to("int32");
    assert.deepEqual(take(completeTokens(model, t32, 2, 1, { seed: 8 })), take(completeTokens(model, originals, 2, 1, { seed: 8 })));
    t32.dispose();
  });
});

describe("sampling follows the model's distribution", () => {
  // out.weight = 0: the logits are out.bias at every pixel whatever the input.
  const bias = [1, 0, -1, 0.5];
  const model = tinyModel("axial", 3);
  noGrad(() => {
    model.out.weight.zero_();
    const b = tensor(bias);
    model.out.bias!.copy_(b);
    b.dispose();
  });

  function counts(tokens: number[]): number[] {
    const c = new Array<number>(K).fill(0);
    for (const t of tokens) c[t]!++;
    return c;
  }

  function softmax(xs: number[]): number[] {
    const m = Math.max(...xs);
    const e = xs.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  }

  /** Pearson's chi-square of observed counts against probabilities (cells with p = 0 must be 0). */
  function chiSquare(observed: number[], p: number[]): number {
    const n = observed.reduce((a, b) => a + b, 0);
    let chi = 0;
    for (let c = 0; c < p.length; c++) {
      if (p[c] === 0) assert.equal(observed[c], 0, `colour ${c} has probability 0`);
      else chi += (observed[c]! - n * p[c]!) ** 2 / (n * p[c]!);
    }
    return chi;
  }

  test("T = 0.7: frequencies over 64 × 64 pixels match softmax(bias / 0.7) (chi-square, 3 dof, < 16.27 = p 0.001)", () => {
    const observed = counts(take(sampleTokens(model, 64, { temperature: 0.7, seed: 11 })));
    const chi = chiSquare(observed, softmax(bias.map((b) => b / 0.7)));
    assert.ok(chi < 16.27, `chi-square ${chi.toFixed(2)} for counts ${observed.join(", ")}`);
  });

  test("T = 1.5, top-k 2: only colours 0 and 3, in the ratio of softmax([1, 0.5] / 1.5) (1 dof, < 10.83)", () => {
    const observed = counts(take(sampleTokens(model, 64, { temperature: 1.5, topK: 2, seed: 12 })));
    const [p0, p3] = softmax([1 / 1.5, 0.5 / 1.5]);
    const chi = chiSquare(observed, [p0!, 0, 0, p3!]);
    assert.ok(chi < 10.83, `chi-square ${chi.toFixed(2)} for counts ${observed.join(", ")}`);
  });
});

describe("dense models: the cached raster path equals the naive reference", () => {
  const model = tinyModel("dense", 4);

  test("sampleTokens equals sampleTokensNaive, and top-k 1 equals greedy decoding", () => {
    const fast = take(sampleTokens(model, 3, { seed: 2, temperature: 0.7, batchSize: 2 }));
    assert.deepEqual(fast, take(sampleTokensNaive(model, 3, { seed: 2, temperature: 0.7 })));
    assert.ok(fast.every((v) => v >= 0 && v < K));
    const start = zeros([1, H, W], { dtype: "int64" });
    assert.deepEqual(take(sampleTokens(model, 1, { topK: 1 })), greedy(model, start, 0));
    start.dispose();
  });

  test("completion keeps the given rows", () => {
    const given = tensor(Array.from({ length: H * W }, (_, p) => p % K), { shape: [1, H, W], dtype: "int64" });
    const out = take(completeTokens(model, given, 6, 1));
    assert.deepEqual(out.slice(0, 6 * W), given.toArray().slice(0, 6 * W));
    given.dispose();
  });
});

describe("bad input: clear errors naming the argument", () => {
  const model = tinyModel();
  const good = zeros([2, H, W], { dtype: "int64" });

  test("sampling options", () => {
    assert.throws(() => sampleTokens(model, 0), /sampleTokens: n must be an integer >= 1, got 0/);
    assert.throws(() => sampleTokens(model, 1.5), /n must be an integer >= 1, got 1.5/);
    for (const temperature of [0, -1, NaN, Infinity]) assert.throws(() => sampleTokens(model, 1, { temperature }), /temperature must be a finite number > 0/);
    for (const topK of [-1, 1.5, 5]) assert.throws(() => sampleTokens(model, 1, { topK }), /topK must be an integer in \[0, 4\]/);
    assert.throws(() => sampleTokens(model, 1, { seed: -1 }), /seed must be an integer in \[0, 4294967295\]/);
    assert.throws(() => sampleTokensNaive(model, 1, { batchSize: 0 }), /sampleTokensNaive: batchSize must be an integer >= 1/);
  });

  test("completion arguments", () => {
    assert.throws(() => completeTokens(model, good, 9, 1), /completeTokens: givenRows must be an integer in \[0, 8\], got 9/);
    assert.throws(() => completeTokens(model, good, -1, 1), /givenRows must be an integer in \[0, 8\]/);
    assert.throws(() => completeTokens(model, good, 2, 0), /samples must be an integer >= 1, got 0/);
    const f = zeros([2, H, W]);
    assert.throws(() => completeTokens(model, f, 2, 1), /tokens must be int64 of shape \(N, 8, 8\)/);
    f.dispose();
    const wrong = zeros([2, H, W + 1], { dtype: "int64" });
    assert.throws(() => completeTokens(model, wrong, 2, 1), /tokens must be int64 of shape \(N, 8, 8\)/);
    wrong.dispose();
    const big = tidy(() => good.clone().fill_(K));
    assert.throws(() => completeTokens(model, big, 2, 1), /tokens must lie in \[0, 3\] \(the model's 4 colours\), got 4 in image 0 at \(0, 0\)/);
    big.dispose();
  });
});

describe("completion picture helpers", () => {
  test("maskedImages paints rows >= givenRows gray in every channel and leaves the input alone", () => {
    const images = tensor(Array.from({ length: 2 * 3 * 2 * 3 }, (_, p) => p), { shape: [2, 3, 2, 3], dtype: "uint8" });
    const masked = maskedImages(images, 1);
    const m = masked.toArray();
    const src = images.toArray();
    for (let p = 0; p < m.length; p++) {
      const row = Math.floor(p / 6) % 3;
      assert.equal(m[p], row < 1 ? src[p] : 128, `element ${p}`);
    }
    assert.deepEqual(take(maskedImages(images, 3)), src);
    assert.ok(take(maskedImages(images, 0, 7)).every((v) => v === 7));
    assert.throws(() => maskedImages(images, 4), /maskedImages: givenRows must be an integer in \[0, 3\], got 4/);
    assert.throws(() => maskedImages(zeros([2, 3, 2, 3]), 1), /maskedImages: images must be uint8 \(N, H, W, C\)/);
    masked.dispose();
    images.dispose();
  });

  test("completionGridRows: one row per image, original | masked | completions, in palette colours", () => {
    const palette = new PaletteQuantizer([[0], [100], [200], [255]]);
    const originals = tensor([0, 1, 2, 3, 3, 2, 1, 0], { shape: [2, 2, 2], dtype: "int64" });
    const completions = tensor([0, 1, 3, 3, 0, 1, 0, 0, 3, 2, 2, 2, 3, 2, 1, 1], { shape: [2, 2, 2, 2], dtype: "int64" });
    const rows = completionGridRows(palette, originals, completions, 1);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0]!.shape, [4, 2, 2, 1]);
    assert.equal(rows[0]!.dtype, "uint8");
    assert.deepEqual(rows[0]!.toArray(), [0, 100, 200, 255, 0, 100, 128, 128, 0, 100, 255, 255, 0, 100, 0, 0]);
    assert.deepEqual(rows[1]!.toArray(), [255, 200, 100, 0, 255, 200, 128, 128, 255, 200, 200, 200, 255, 200, 100, 100]);
    assert.throws(() => completionGridRows(palette, originals, originals, 1), /completionGridRows: completions must be tokens \(2, S, 2, 2\)/);
    for (const t of [...rows, originals, completions]) t.dispose();
    palette.dispose();
  });
});
