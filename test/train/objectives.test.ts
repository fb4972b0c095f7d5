// The objectives against independent answers: NLL and NT-Xent on small hand-made inputs (worked
// out by hand, and by a plain-JS float64 implementation written out below), a finite-difference
// gradient check of NT-Xent, and what each hybrid mode computes (and does not compute).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { generativeLoss, generativeScale, natsToBitsPerDim, ntXentLoss, hybridLoss } from "../../src/train/objectives.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { gradcheck, distinct, prng } from "../helpers/gradcheck.ts";

const f64 = (data: number[][] | number[][][][]): Tensor => tensor(data, { dtype: "float64" });
const tt = (name: string, body: () => void): void => {
  test(name, () => tidy(body));
};

// ---- plain-JS references ------------------------------------------------------------------------

const logSumExp = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** NT-Xent as GCRL.md section 1 words it: loops over the 2N anchors, log-sum-exp over 2N−1 candidates. */
function ntXentReference(z1: number[][], z2: number[][], tau: number): { loss: number; accuracy: number } {
  const n = z1.length;
  const z = [...z1, ...z2].map(unit);
  let total = 0;
  let correct = 0;
  for (let a = 0; a < 2 * n; a++) {
    const positive = a < n ? a + n : a - n;
    const candidates: number[] = [];
    let best = -Infinity;
    let bestIndex = -1;
    for (let c = 0; c < 2 * n; c++) {
      if (c === a) continue;
      const s = dot(z[a]!, z[c]!) / tau;
      candidates.push(s);
      if (s > best) [best, bestIndex] = [s, c];
    }
    assert.equal(candidates.length, 2 * n - 1);
    total += -dot(z[a]!, z[positive]!) / tau + logSumExp(candidates);
    if (bestIndex === positive) correct++;
  }
  return { loss: total / (2 * n), accuracy: correct / (2 * n) };
}

// ---- generative ---------------------------------------------------------------------------------

describe("generativeLoss", () => {
  tt("known answer: mean NLL per pixel in nats", () => {
    // One image, 1×2 pixels, K = 3.
    const logits = f64([[[[0, 0, 0], [1, 2, 3]]]]);
    const tokens = tensor([[[0, 2]]], { dtype: "int64" });
    // pixel 1: uniform → ln 3. pixel 2: −log softmax(1, 2, 3)[2] = ln(1 + e^−1 + e^−2).
    const expected = (Math.log(3) + Math.log(1 + Math.exp(-1) + Math.exp(-2))) / 2;
    assertClose(generativeLoss(logits, tokens).item(), expected, 1e-15, "NLL");
    assertClose(expected, 0.7531091265562451, 1e-15, "hand value"); // the same number, written out
  });

  tt("uniform logits give ln K per pixel; bits/dim = nats / ln 2", () => {
    const logits = tensor(new Float64Array(2 * 3 * 4 * 16), { shape: [2, 3, 4, 16] });
    const tokens = tensor(Array.from({ length: 24 }, (_, i) => i % 16), { dtype: "int64", shape: [2, 3, 4] });
    const nats = generativeLoss(logits, tokens).item();
    assertClose(nats, Math.log(16), 1e-15, "uniform NLL");
    assertClose(natsToBitsPerDim(nats), 4, 1e-15, "bits/dim of a uniform 16-colour palette");
    assert.equal(natsToBitsPerDim(Math.LN2), 1);
  });

  tt("known answer: \"image\" is the sum over each image's pixels, mean over images = \"pixel\" × H·W, value and gradient", () => {
    // B = 2 images of 1×2 pixels, K = 3. Per-pixel NLLs: ln 3, a, ln 3, 2 + a with
    // a = ln(1 + e^−1 + e^−2) (pixel [3, 2, 1] → token 2: lse(3, 2, 1) − 1 = 3 + a − 1).
    const data = [[[[0, 0, 0], [1, 2, 3]]], [[[0, 0, 0], [3, 2, 1]]]];
    const tokens = tensor([[[0, 2]], [[1, 2]]], { dtype: "int64" });
    const a = Math.log(1 + Math.exp(-1) + Math.exp(-2));
    const total = 2 * Math.log(3) + 2 * a + 2;
    const run = (reduction: "pixel" | "image"): { value: number; grad: number[] } => {
      const logits = f64(data).requiresGrad_();
      const loss = generativeLoss(logits, tokens, reduction);
      loss.backward();
      return { value: loss.item(), grad: logits.grad!.reshape([-1]).toArray() };
    };
    const pixel = run("pixel");
    const image = run("image");
    assertClose(pixel.value, total / 4, 1e-15, "pixel: mean over B·H·W = 4 pixels");
    assertClose(image.value, total / 2, 1e-15, "image: sum over H·W, mean over B = 2 images");
    assertClose(image.value, 2 * pixel.value, 1e-15, "image = H·W × pixel (H·W = 2)");
    // d/dlogits = (softmax − onehot) / (B·H·W) for "pixel", / B for "image".
    const softmax = (v: number[]): number[] => v.map((x) => Math.exp(x - logSumExp(v)));
    const flatTokens = [0, 2, 1, 2];
    const expected = data.flat(2).flatMap((row, i) => softmax(row).map((p, k) => p - (k === flatTokens[i] ? 1 : 0)));
    assertClose(pixel.grad, expected.map((g) => g / 4), 1e-15, "pixel gradient");
    assertClose(image.grad, expected.map((g) => g / 2), 1e-15, "image gradient");
    assertClose(image.grad, pixel.grad.map((g) => 2 * g), 1e-15, "image gradient = H·W × pixel gradient");
    // The scale factor alone: 1, or the pixels per image.
    assert.deepEqual([generativeScale("pixel", tokens), generativeScale("image", tokens), generativeScale("image", tensor(new Array(2 * 28 * 28).fill(0), { dtype: "int64", shape: [2, 28, 28] }))], [1, 2, 784]);
    assert.throws(() => generativeLoss(f64(data), tokens, "sum" as "pixel"), /generativeReduction must be "pixel" or "image", got "sum"/);
  });

  tt("shape mismatch is an error that shows both shapes", () => {
    assert.throws(() => generativeLoss(f64([[[[0, 0]]]]), tensor([[0, 1]], { dtype: "int64" })), /logits \[1, 1, 1, 2\] do not match tokens \[1, 2\]/);
  });
});

// ---- contrastive --------------------------------------------------------------------------------

describe("ntXentLoss", () => {
  tt("known answer by hand: orthogonal pairs, log(1 + 2·e^(−1/τ)) for every τ", () => {
    // z = [e1, e2 | e1, e2]: each anchor has its positive at similarity 1/τ and two candidates at 0.
    const z1 = f64([[1, 0], [0, 1]]);
    const z2 = f64([[1, 0], [0, 1]]);
    for (const tau of [0.05, 0.1, 0.5, 1, 2]) {
      const { loss, accuracy } = ntXentLoss(z1, z2, tau);
      assertClose(loss.item(), Math.log(1 + 2 * Math.exp(-1 / tau)), 1e-14, `loss at tau=${tau}`);
      assert.equal(accuracy.item(), 1);
    }
  });

  tt("known answer by hand: swapped pairs rank the positive last, accuracy 0", () => {
    // z1 = [e1, e2], z2 = [e2, e1]: anchor e1 (view 1) has positive e2 (sim 0) and candidates
    // e2 (0), e1 (1/τ): loss = −0 + log(e^0 + e^0 + e^{1/τ}), the same for all four anchors.
    const tau = 0.5;
    const { loss, accuracy } = ntXentLoss(f64([[1, 0], [0, 1]]), f64([[0, 1], [1, 0]]), tau);
    assertClose(loss.item(), Math.log(2 + Math.exp(1 / tau)), 1e-14, "loss");
    assert.equal(accuracy.item(), 0);
  });

  tt("matches a plain-JS float64 implementation (N = 3, unnormalised inputs, several τ)", () => {
    const z1 = [[0.9, 0.2], [-0.3, 1.1], [0.5, -0.7]];
    const z2 = [[1.2, 0.1], [0.4, 0.8], [-0.6, -0.9]];
    for (const tau of [0.1, 0.3, 1]) {
      const want = ntXentReference(z1, z2, tau);
      const got = ntXentLoss(f64(z1), f64(z2), tau);
      assertClose(got.loss.item(), want.loss, 1e-13, `loss at tau=${tau}`);
      assertClose(got.accuracy.item(), want.accuracy, 0, `accuracy at tau=${tau}`);
    }
    // This case has one anchor whose positive is not ranked first: accuracy strictly between 0 and 1.
    const acc = ntXentReference(z1, z2, 0.1).accuracy;
    assert.ok(acc > 0 && acc < 1, `reference accuracy ${acc}`);
  });

  tt("matches the reference on random 16-d vectors (N = 8)", () => {
    const next = prng(5);
    const rand = (): number[][] => Array.from({ length: 8 }, () => Array.from({ length: 16 }, () => next() * 2 - 1));
    const z1 = rand();
    const z2 = z1.map((row) => row.map((x) => x + 0.6 * (next() - 0.5))); // noisy copies
    const want = ntXentReference(z1, z2, 0.2);
    const got = ntXentLoss(f64(z1), f64(z2), 0.2);
    assertClose(got.loss.item(), want.loss, 1e-13, "loss");
    assert.equal(got.accuracy.item(), want.accuracy);
  });

  test("float64 finite-difference gradient w.r.t. z1 and z2", () => {
    const z1 = distinct([4, 3], 1);
    const z2 = distinct([4, 3], 2);
    const r = gradcheck(([a, b]) => ntXentLoss(a!, b!, 0.3).loss, [z1, z2]);
    assert.ok(r.maxRelError < 1e-6, `worst relative error ${r.maxRelError} at ${JSON.stringify(r.worst)}`);
    assert.equal(r.checked, 24);
  });

  tt("bad arguments", () => {
    assert.throws(() => ntXentLoss(f64([[1, 0]]), f64([[1, 0]]), 0.1), /need N >= 2/);
    assert.throws(() => ntXentLoss(f64([[1, 0], [0, 1]]), f64([[1, 0, 0], [0, 1, 0]]), 0.1), /equal shapes/);
    assert.throws(() => ntXentLoss(f64([[1, 0], [0, 1]]), f64([[1, 0], [0, 1]]), 0), /tau must be a positive number/);
  });
});

// ---- hybrid -------------------------------------------------------------------------------------

describe("hybridLoss", () => {
  const H = 3;
  const W = 4;
  const K = 4;
  manualSeed(3);
  const model = new GCRLModel({ height: H, width: W, vocabSize: K, d: 8, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 4 }).to("float64").eval();
  const next = prng(9);
  const tokens = (b: number): Tensor => tensor(Array.from({ length: b * H * W }, () => Math.floor(next() * K)), { dtype: "int64", shape: [b, H, W] });
  const weak = tokens(3);
  const strong = tokens(3);

  /** Runs fn while recording the batch sizes passed to model.encode and the number of decode calls. */
  function spy<T>(fn: () => T): { result: T; encoded: number[]; decodes: number } {
    const encoded: number[] = [];
    let decodes = 0;
    const { encode, decode } = model;
    model.encode = (t) => (encoded.push(t.shape[0]!), encode.call(model, t));
    model.decode = (t, h) => (decodes++, decode.call(model, t, h));
    try {
      return { result: fn(), encoded, decodes };
    } finally {
      model.encode = encode;
      model.decode = decode;
    }
  }

  tt("gcrl: α·L_g + β·L_c, each term equal to the separate computation", () => {
    const { result: r, encoded, decodes } = spy(() => hybridLoss({ mode: "gcrl", alpha: 0.3, beta: 2, tau: 0.2 }, model, weak, strong));
    assert.deepEqual(encoded, [6]); // both views in one encoder pass
    assert.equal(decodes, 1);
    const [g, c] = noGrad(() => {
      const h = model.encode(weak);
      const g = generativeLoss(model.decode(weak, h.hidden), weak).item();
      const c = ntXentLoss(model.project(h.representation), model.project(model.encode(strong).representation), 0.2).loss.item();
      return [g, c];
    });
    assertClose(r.generative!.item(), g, 1e-12, "generative");
    assertClose(r.contrastive!.item(), c, 1e-12, "contrastive");
    assertClose(r.loss.item(), 0.3 * g + 2 * c, 1e-12, "loss");
    assert.ok(r.contrastiveAccuracy !== null);
    assert.ok(r.loss.requiresGrad);
  });

  tt("igpt: the strong view is never encoded (and may be null); no contrastive terms", () => {
    const { result: r, encoded, decodes } = spy(() => hybridLoss({ mode: "igpt" }, model, weak, null));
    assert.deepEqual(encoded, [3]);
    assert.equal(decodes, 1);
    assert.equal(r.contrastive, null);
    assert.equal(r.contrastiveAccuracy, null);
    assert.equal(r.loss.item(), r.generative!.item()); // α = 1 by default
    const withStrong = spy(() => hybridLoss({ mode: "igpt", beta: 5 }, model, weak, strong));
    assert.deepEqual(withStrong.encoded, [3]);
    assert.equal(withStrong.result.loss.item(), r.loss.item());
  });

  tt("simclr: the decoder is never run; no generative term", () => {
    const { result: r, encoded, decodes } = spy(() => hybridLoss({ mode: "simclr", tau: 0.5 }, model, weak, strong));
    assert.deepEqual(encoded, [6]);
    assert.equal(decodes, 0);
    assert.equal(r.generative, null);
    assert.equal(r.loss.item(), r.contrastive!.item()); // β = 1 by default
    assert.throws(() => hybridLoss({ mode: "simclr" }, model, weak, null), /needs the strong view/);
  });

  tt("default weights α = β = 1, τ = 0.1", () => {
    const r = hybridLoss({ mode: "gcrl" }, model, weak, strong);
    const explicit = hybridLoss({ mode: "gcrl", alpha: 1, beta: 1, tau: 0.1 }, model, weak, strong);
    assert.equal(r.loss.item(), explicit.loss.item());
    assertClose(r.loss.item(), r.generative!.item() + r.contrastive!.item(), 1e-14, "sum");
  });

  /** The loss of one hybridLoss call and the gradient it gives every model parameter. */
  function lossAndGradients(objective: Parameters<typeof hybridLoss>[0]): { loss: number; generative: number | null; contrastive: number | null; grads: number[] } {
    model.zeroGrad();
    const r = hybridLoss(objective, model, weak, strong);
    r.loss.backward();
    const grads = model.parameters().flatMap((p) => (p.grad === null ? [] : p.grad.reshape([-1]).toArray()));
    model.zeroGrad();
    return { loss: r.loss.item(), generative: r.generative?.item() ?? null, contrastive: r.contrastive?.item() ?? null, grads };
  }

  tt("generativeReduction \"image\": α·H·W·L_g (the reported L_g stays per pixel); = \"pixel\" with α·H·W, value and gradient", () => {
    const hw = H * W;
    for (const mode of ["igpt", "gcrl"] as const) {
      const pixel = lossAndGradients({ mode, alpha: 0.5, beta: 2, tau: 0.2 });
      const image = lossAndGradients({ mode, alpha: 0.5, beta: 2, tau: 0.2, generativeReduction: "image" });
      const equivalent = lossAndGradients({ mode, alpha: 0.5 * hw, beta: 2, tau: 0.2 });
      assert.equal(image.generative, pixel.generative, `${mode}: the reported generative loss is per pixel`);
      const want = 0.5 * hw * pixel.generative! + (mode === "gcrl" ? 2 * pixel.contrastive! : 0);
      assertClose(image.loss, want, 1e-12, `${mode}: loss`);
      assertClose(image.loss, equivalent.loss, 1e-12, `${mode}: = pixel with α·H·W`);
      assert.ok(image.grads.length > 0 && image.grads.length === equivalent.grads.length);
      assertClose(image.grads, equivalent.grads, 1e-10, `${mode}: gradients`);
      if (mode === "igpt") assertClose(image.grads, pixel.grads.map((g) => hw * g), 1e-10, "igpt: gradient = H·W × the pixel gradient");
    }
    // simclr has no generative term: the reduction changes nothing.
    assert.equal(lossAndGradients({ mode: "simclr", generativeReduction: "image" }).loss, lossAndGradients({ mode: "simclr" }).loss);
  });

  tt("bad arguments", () => {
    assert.throws(() => hybridLoss({ mode: "vae" as "gcrl" }, model, weak, strong), /mode must be "gcrl", "igpt" or "simclr"/);
    assert.throws(() => hybridLoss({ mode: "gcrl", generativeReduction: "sum" as "pixel" }, model, weak, strong), /generativeReduction must be "pixel" or "image", got "sum"/);
    assert.throws(() => hybridLoss({ mode: "gcrl", alpha: -1 }, model, weak, strong), /alpha must be a finite number >= 0/);
    assert.throws(() => hybridLoss({ mode: "gcrl" }, model, weak, tokens(2)), /the views differ in shape/);
  });
});
