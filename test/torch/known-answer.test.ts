// Known answers: each op's output against values computed independently, by hand or by a small
// plain-JS float64 reference written out below (not by the engine). Where PyTorch's exact semantics
// matter (cross-entropy with weights / ignore index / label smoothing, grouped strided convolution,
// bilinear resampling), the numbers are also pinned to PyTorch 1.13's, generated offline by
// test/fixtures/known-answer-reference.py and pasted here as constants (tests never run Python).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { tensor, linalg, type Tensor } from "../../src/torch/index.ts";
import { assertClose } from "../helpers/assert-close.ts";

const f64 = (data: T.NestedArray): Tensor => tensor(data, { dtype: "float64" });
const long = (data: number[]): Tensor => tensor(data, { dtype: "int64" });
/** Runs a test body inside tidy() so every tensor it makes is freed. */
const tt = (name: string, body: () => void): void => {
  test(name, () => T.tidy(body));
};

// ---- plain-JS references --------------------------------------------------------------------------

const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);

function logSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(sum(row.map((v) => Math.exp(v - m))));
  return row.map((v) => v - lse);
}

/** erf by its Maclaurin series 2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n+1)); ~1e-13 accurate for |x| ≤ 3. */
function erf(x: number): number {
  let total = 0;
  let term = x; // (-1)ⁿ x²ⁿ⁺¹ / n!
  for (let n = 0; n < 200; n++) {
    const c = term / (2 * n + 1);
    total += c;
    if (Math.abs(c) < 1e-17 * Math.abs(total)) break;
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * total;
}

const geluExact = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

interface CeOptions {
  weight?: number[];
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/**
 * Mean cross-entropy with class-index targets, PyTorch's definition: per sample
 * (1-ε)·w[t]·(−log p_t) + (ε/C)·Σ_c w[c]·(−log p_c), summed over non-ignored samples and divided by
 * the sum of their targets' weights (their count without weights).
 */
function crossEntropyRef(logits: number[][], target: number[], o: CeOptions = {}): number {
  const C = logits[0]!.length;
  const ls = o.labelSmoothing ?? 0;
  const w = o.weight ?? new Array<number>(C).fill(1);
  let total = 0;
  let denom = 0;
  logits.forEach((row, i) => {
    const t = target[i]!;
    if (t === (o.ignoreIndex ?? -100)) return;
    const lp = logSoftmax(row);
    total += (1 - ls) * w[t]! * -lp[t]! + (ls / C) * sum(lp.map((v, c) => w[c]! * -v));
    denom += w[t]!;
  });
  return total / denom;
}

/** Mean cross-entropy with probability targets: −Σ_c w[c]·q_c·log p_c per sample, q = (1-ε)p + ε/C; divided by N. */
function crossEntropyProbsRef(logits: number[][], probs: number[][], o: CeOptions = {}): number {
  const C = logits[0]!.length;
  const ls = o.labelSmoothing ?? 0;
  const w = o.weight ?? new Array<number>(C).fill(1);
  const losses = logits.map((row, i) => {
    const lp = logSoftmax(row);
    return -sum(lp.map((v, c) => w[c]! * ((1 - ls) * probs[i]![c]! + ls / C) * v));
  });
  return sum(losses) / logits.length;
}

/** Direct 2-d convolution over flat NCHW data (dilation 1). */
function conv2dRef(
  x: number[],
  [N, Cin, H, W]: number[],
  w: number[],
  [Cout, CinG, kH, kW]: number[],
  bias: number[] | null,
  [sH, sW]: number[],
  [pH, pW]: number[],
  groups: number,
): { data: number[]; shape: number[] } {
  const oH = Math.floor((H + 2 * pH - kH) / sH) + 1;
  const oW = Math.floor((W + 2 * pW - kW) / sW) + 1;
  const outPerGroup = Cout / groups;
  const data: number[] = [];
  for (let n = 0; n < N!; n++)
    for (let co = 0; co < Cout!; co++)
      for (let i = 0; i < oH; i++)
        for (let j = 0; j < oW; j++) {
          let acc = bias ? bias[co]! : 0;
          const g = Math.floor(co / outPerGroup);
          for (let ci = 0; ci < CinG!; ci++)
            for (let a = 0; a < kH!; a++)
              for (let b = 0; b < kW!; b++) {
                const r = i * sH! - pH! + a;
                const c = j * sW! - pW! + b;
                if (r < 0 || r >= H! || c < 0 || c >= W!) continue;
                const xc = g * CinG! + ci;
                acc += x[((n * Cin! + xc) * H! + r) * W! + c]! * w[((co * CinG! + ci) * kH! + a) * kW! + b]!;
              }
          data.push(acc);
        }
  return { data, shape: [N!, Cout!, oH, oW] };
}

/** PyTorch's bilinear source coordinate and neighbours for output index o (in → out samples). */
function bilinearTaps(o: number, inSize: number, outSize: number, alignCorners: boolean): [number, number, number] {
  const src = alignCorners ? (outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0) : Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
  const i0 = Math.floor(src);
  const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
  return [i0, i1, src - i0];
}

function bilinearRef(img: number[][], outH: number, outW: number, alignCorners: boolean): number[] {
  const H = img.length;
  const W = img[0]!.length;
  const out: number[] = [];
  for (let i = 0; i < outH; i++) {
    const [r0, r1, lr] = bilinearTaps(i, H, outH, alignCorners);
    for (let j = 0; j < outW; j++) {
      const [c0, c1, lc] = bilinearTaps(j, W, outW, alignCorners);
      const top = (1 - lc) * img[r0]![c0]! + lc * img[r0]![c1]!;
      const bottom = (1 - lc) * img[r1]![c0]! + lc * img[r1]![c1]!;
      out.push((1 - lr) * top + lr * bottom);
    }
  }
  return out;
}

function matmulRef(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => sum(row.map((v, k) => v * b[k]![j]!))));
}

// ---- PyTorch 1.13 reference numbers (test/fixtures/known-answer-reference.py) ---------------------

const LOGITS = [
  [1.0, -0.5, 2.0, 0.3],
  [0.2, 0.1, -1.0, 1.5],
  [-2.0, 0.7, 0.0, 0.4],
];
const TARGET = [2, 0, 3];
const WEIGHT = [0.5, 2.0, 1.0, 1.5];
const PROBS = [
  [0.1, 0.2, 0.3, 0.4],
  [0.7, 0.1, 0.1, 0.1],
  [0.0, 0.5, 0.5, 0.0],
];
const TORCH = {
  ce_mean: 1.13195873343054,
  ce_weighted: 1.025983584774597,
  ce_ignore: 0.8125571306928226,
  ce_smooth: 1.2602920667638735,
  ce_weighted_ignore_smooth: 1.138764273097764,
  ce_probs: 1.5752920667638735,
  ce_probs_weighted_smooth: 1.9210533133244356,
  ce_none: [0.4902032144153275, 1.7707619389059746, 1.1349110469703179],
  conv2d_groups_stride_pad: [
    -1.65, 3.6, 1.1, 3.1, 2.85, 5.35, -4.4, 5.6, 3.1, -1.4, 0.35, 0.85, -1.2, -0.7, 1.05, 0.3, -1.2, 1.05, 0.3, 0.55, 0.3, -1.7, 0.8, 1.8,
  ],
  bilinear_3x5: [
    1.0, 1.4, 2.0, 3.1999999999999997, 4.0, 0.5, 0.5, 0.5, 2.2999999999999994, 3.4999999999999996, 0.0, -0.39999999999999997, -1.0,
    1.3999999999999995, 3.0,
  ],
};

const TOL = 1e-12;

// ---- tests --------------------------------------------------------------------------------------------

describe("crossEntropy", () => {
  const ce = (o: T.CrossEntropyOptions = {}): number => T.crossEntropy(f64(LOGITS), long(TARGET), o).item();

  tt("mean of -log softmax at the targets", () => {
    // Row 0 by hand: -log(e^2 / (e^1 + e^-0.5 + e^2 + e^0.3)).
    const row0 = -(2 - Math.log(Math.exp(1) + Math.exp(-0.5) + Math.exp(2) + Math.exp(0.3)));
    assertClose(T.crossEntropy(f64(LOGITS), long(TARGET), { reduction: "none" }).select(0, 0).item(), row0, TOL, "row 0");
    assertClose(ce(), crossEntropyRef(LOGITS, TARGET), TOL, "mean");
    assertClose(ce(), TORCH.ce_mean, TOL, "mean vs PyTorch");
    assertClose(T.crossEntropy(f64(LOGITS), long(TARGET), { reduction: "none" }), TORCH.ce_none, TOL, "none vs PyTorch");
    assertClose(ce({ reduction: "sum" }), 3 * TORCH.ce_mean, TOL, "sum");
  });

  tt("class weights: mean divides by the sum of the targets' weights", () => {
    const lp = LOGITS.map(logSoftmax);
    // weights of targets 2, 0, 3 are 1, 0.5, 1.5 → denominator 3 (not 3 samples, not Σ of all weights 5).
    const byHand = (1 * -lp[0]![2]! + 0.5 * -lp[1]![0]! + 1.5 * -lp[2]![3]!) / (1 + 0.5 + 1.5);
    const w = f64(WEIGHT);
    assertClose(ce({ weight: w }), byHand, TOL, "weighted mean");
    assertClose(ce({ weight: w }), TORCH.ce_weighted, TOL, "weighted mean vs PyTorch");
    assertClose(ce({ weight: w, reduction: "sum" }), byHand * 3, TOL, "weighted sum");
  });

  tt("ignoreIndex drops samples from the sum and from the mean's count", () => {
    const lp = LOGITS.map(logSoftmax);
    const byHand = (-lp[0]![2]! + -lp[2]![3]!) / 2; // sample 1 (target 0) ignored
    assertClose(ce({ ignoreIndex: 0 }), byHand, TOL, "ignoreIndex mean");
    assertClose(ce({ ignoreIndex: 0 }), TORCH.ce_ignore, TOL, "ignoreIndex vs PyTorch");
    const none = T.crossEntropy(f64(LOGITS), long(TARGET), { ignoreIndex: 0, reduction: "none" }).toArray();
    assert.equal(none[1], 0);
  });

  tt("label smoothing mixes the target with a uniform distribution", () => {
    const eps = 0.2;
    const lp = LOGITS.map(logSoftmax);
    const perSample = lp.map((row, i) => (1 - eps) * -row[TARGET[i]!]! + (eps / 4) * -sum(row));
    assertClose(ce({ labelSmoothing: eps }), sum(perSample) / 3, TOL, "smoothed mean");
    assertClose(ce({ labelSmoothing: eps }), TORCH.ce_smooth, TOL, "smoothed vs PyTorch");
  });

  tt("weights + ignoreIndex + label smoothing together", () => {
    const o = { ignoreIndex: 3, labelSmoothing: 0.1 };
    const got = ce({ weight: f64(WEIGHT), ...o });
    assertClose(got, crossEntropyRef(LOGITS, TARGET, { weight: WEIGHT, ...o }), TOL, "combined");
    assertClose(got, TORCH.ce_weighted_ignore_smooth, TOL, "combined vs PyTorch");
  });

  tt("probability targets (plain, and weighted with smoothing: mean divides by N)", () => {
    assertClose(T.crossEntropy(f64(LOGITS), f64(PROBS)).item(), crossEntropyProbsRef(LOGITS, PROBS), TOL, "probs");
    assertClose(T.crossEntropy(f64(LOGITS), f64(PROBS)).item(), TORCH.ce_probs, TOL, "probs vs PyTorch");
    const got = T.crossEntropy(f64(LOGITS), f64(PROBS), { weight: f64(WEIGHT), labelSmoothing: 0.1 }).item();
    assertClose(got, crossEntropyProbsRef(LOGITS, PROBS, { weight: WEIGHT, labelSmoothing: 0.1 }), TOL, "weighted smoothed probs");
    assertClose(got, TORCH.ce_probs_weighted_smooth, TOL, "weighted smoothed probs vs PyTorch");
  });

  tt("one-hot probability targets equal index targets", () => {
    const onehot = T.oneHot(long(TARGET), 4).double();
    assertClose(T.crossEntropy(f64(LOGITS), onehot).item(), TORCH.ce_mean, TOL);
  });

  tt("nllLoss of logSoftmax equals crossEntropy (with weights and ignoreIndex)", () => {
    const lp = f64(LOGITS).logSoftmax(1);
    const o = { weight: f64(WEIGHT), ignoreIndex: 0 };
    assertClose(T.nllLoss(lp, long(TARGET), o).item(), T.crossEntropy(f64(LOGITS), long(TARGET), o).item(), TOL);
    // By hand: weights of the kept targets (2 → 1, 3 → 1.5).
    const l = LOGITS.map(logSoftmax);
    assertClose(T.nllLoss(lp, long(TARGET), o).item(), (1 * -l[0]![2]! + 1.5 * -l[2]![3]!) / 2.5, TOL);
  });

  tt("mseLoss", () => {
    // ((1-0)² + (2-4)² + (3-3.5)²) / 3
    assertClose(T.mseLoss(f64([1, 2, 3]), f64([0, 4, 3.5])).item(), (1 + 4 + 0.25) / 3, TOL);
    assertClose(T.mseLoss(f64([1, 2, 3]), f64([0, 4, 3.5]), "sum").item(), 5.25, TOL);
  });
});

describe("softmax family", () => {
  tt("softmax and logSoftmax of [1, 2, 3] and along dim 0", () => {
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assertClose(f64([1, 2, 3]).softmax(0), [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z], TOL, "softmax");
    assertClose(f64([1, 2, 3]).logSoftmax(0), [1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z)], TOL, "logSoftmax");
    // Along dim 0 of [[0, 1], [ln 3, 1]]: column 0 → [1/4, 3/4], column 1 → [1/2, 1/2].
    assertClose(f64([[0, 1], [Math.log(3), 1]]).softmax(0), [0.25, 0.5, 0.75, 0.5], TOL, "softmax dim 0");
  });

  tt("logSoftmax of large logits stays finite (max subtracted)", () => {
    const x = tensor([1000, 1001, 1002]); // float32
    const expected = logSoftmax([0, 1, 2]);
    assertClose(x.logSoftmax(0), expected, 1e-6, "float32 logSoftmax");
    assertClose(x.softmax(0), expected.map(Math.exp), 1e-6, "float32 softmax");
  });

  tt("logsumexp with large values (stability)", () => {
    assertClose(f64([1000, 1000]).logsumexp(0).item(), 1000 + Math.LN2, TOL, "[1000, 1000]");
    assertClose(f64([-1000, -1000]).logsumexp(0).item(), -1000 + Math.LN2, TOL, "[-1000, -1000]");
    assertClose(f64([1e4, 1e4 - 1]).logsumexp(0).item(), 1e4 + Math.log1p(Math.exp(-1)), TOL, "[1e4, 1e4-1]");
    assertClose(f64([-1000, 0]).logsumexp(0).item(), 0, TOL, "[-1000, 0]");
    // float32, where exp(100) alone would overflow: 100 + ln(1 + e^-1).
    assertClose(tensor([100, 99]).logsumexp(0).item(), 100 + Math.log1p(Math.exp(-1)), 1e-6, "float32 [100, 99]");
    assertClose(tensor([[88, 89], [0, 0]]).logsumexp(1), [89 + Math.log1p(Math.exp(-1)), Math.LN2], 1e-6, "float32 rows");
  });
});

describe("normalisation and activations", () => {
  tt("layerNorm without and with affine", () => {
    const rows = [
      [1, 2, 3, 4],
      [-1, 0, 0, 5],
    ];
    const eps = 1e-5;
    const w = [0.5, 1, -1, 2];
    const b = [0, 0.1, 0.2, -0.3];
    const ref = (affine: boolean): number[] =>
      rows.flatMap((r) => {
        const m = sum(r) / r.length;
        const v = sum(r.map((x) => (x - m) ** 2)) / r.length; // population variance
        return r.map((x, i) => ((x - m) / Math.sqrt(v + eps)) * (affine ? w[i]! : 1) + (affine ? b[i]! : 0));
      });
    assertClose(T.layerNorm(f64(rows), [4]), ref(false), TOL, "plain");
    assertClose(T.layerNorm(f64(rows), [4], f64(w), f64(b)), ref(true), TOL, "affine");
    // [1, 2, 3, 4]: mean 2.5, variance 1.25 → first element -1.5/√1.25000001.
    assertClose(T.layerNorm(f64([1, 2, 3, 4]), [4]).select(0, 0).item(), -1.5 / Math.sqrt(1.25 + eps), TOL, "by hand");
    // Normalising over two trailing dims treats them as one group of 6.
    const flat = [1, 2, 3, 4, 5, 7];
    const m = sum(flat) / 6;
    const v = sum(flat.map((x) => (x - m) ** 2)) / 6;
    assertClose(T.layerNorm(f64([[1, 2, 3], [4, 5, 7]]), [2, 3]), flat.map((x) => (x - m) / Math.sqrt(v + eps)), TOL, "2 dims");
  });

  tt("gelu exact: 0.5·x·(1 + erf(x/√2))", () => {
    // Known constants: Φ(1) = 0.8413447460685429, so gelu(1) = Φ(1), gelu(-1) = -(1 - Φ(1)).
    assertClose(erf(1 / Math.SQRT2), 0.6826894921370859, 1e-14, "erf reference");
    assertClose(f64([1, -1, 0]).gelu(), [0.8413447460685429, -0.15865525393145707, 0], TOL, "gelu(±1, 0)");
    const xs = [-3, -2.2, -1.3, -0.4, 0.05, 0.7, 1.6, 2.5, 3];
    assertClose(f64(xs).gelu(), xs.map(geluExact), 1e-12, "gelu grid");
  });

  tt("gelu tanh approximation", () => {
    const xs = [-3, -2.2, -1.3, -0.4, 0.05, 0.7, 1.6, 2.5, 3];
    assertClose(f64(xs).gelu("tanh"), xs.map(geluTanh), TOL, "gelu tanh grid");
    // The two forms differ, but by less than 1e-3 on this range.
    const diff = f64(xs).gelu("tanh").sub(f64(xs).gelu()).abs().max().item();
    assert.ok(diff > 1e-6 && diff < 1e-3, `exact vs tanh differ by ${diff}`);
  });

  tt("normalize", () => {
    assertClose(T.normalize(f64([[3, 4], [0, -2]])), [0.6, 0.8, 0, -1], TOL, "p=2 rows");
    assertClose(T.normalize(f64([[3, 4], [0, -2]]), 2, 0), [1, 0.8944271909999159, 0, -0.4472135954999579], TOL, "p=2 columns");
    assertClose(T.normalize(f64([1, -3]), 1, 0), [0.25, -0.75], TOL, "p=1");
    assertClose(T.normalize(f64([0, 0, 0])), [0, 0, 0], TOL, "zero vector stays zero (eps)");
  });

  tt("cosineSimilarity", () => {
    // [1,2,3]·[4,5,6] = 32, ‖·‖ = √14, √77.
    assertClose(T.cosineSimilarity(f64([[1, 2, 3]]), f64([[4, 5, 6]])).item(), 32 / Math.sqrt(14 * 77), TOL, "rows");
    assertClose(T.cosineSimilarity(f64([[1, 0], [2, 2]]), f64([[0, 3], [-1, -1]])), [0, -1], TOL, "orthogonal, opposite");
    assertClose(T.cosineSimilarity(f64([1, 2]), f64([2, 4]), 0).item(), 1, TOL, "parallel, dim 0");
    assertClose(T.cosineSimilarity(f64([[0, 0]]), f64([[1, 1]])).item(), 0, TOL, "zero vector (eps)");
  });
});

describe("convolution and pooling", () => {
  tt("conv2d, hand-worked 3x3 input with a 2x2 kernel", () => {
    const x = f64([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
    const w = f64([[[[1, 2], [3, 4]]]]);
    // out[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37; [0,1] = 2+6+15+24 = 47; [1,0] = 4+10+21+32 = 67; [1,1] = 5+12+24+36 = 77.
    const y = T.conv2d(x, w, f64([0.5]));
    assert.deepEqual(y.shape, [1, 1, 2, 2]);
    assertClose(y, [37.5, 47.5, 67.5, 77.5], TOL);
    // Padding 1, stride 2 (output 2x2): the windows start at padded rows/cols 0 and 2, i.e. original
    // -1 and 1. Top-left sees only x00·w11 = 1·4 = 4; top-right x01·w10 + x02·w11 = 2·3 + 3·4 = 18;
    // bottom-left x10·w01 + x20·w11 = 4·2 + 7·4 = 36; bottom-right the full window 5+12+24+36 = 77.
    assertClose(T.conv2d(x, w, null, { padding: 1, stride: 2 }), [4, 18, 36, 77], TOL, "padding 1, stride 2");
  });

  tt("conv2d with groups, rectangular stride and padding (JS reference and PyTorch)", () => {
    const xs = [
      0.5, -1.0, 2.0, 0.0, 1.5, 1.0, 0.25, -0.5, 3.0, -2.0, 0.0, 1.0, 2.0, -1.0, 0.5, 2.5, -0.5, 1.0, 0.75, 0.0,
      1.0, 0.0, -1.0, 0.5, 2.0, -0.5, 1.5, 0.0, 1.0, 0.25, 2.0, -1.0, 0.5, 0.0, 1.0, 0.0, 0.5, -1.5, 1.0, 2.0,
    ];
    const ws = [1.0, -1.0, 0.5, 2.0, 0.0, 1.0, -1.0, 0.5];
    const bias = [0.1, -0.2];
    const ref = conv2dRef(xs, [1, 2, 4, 5], ws, [2, 1, 2, 2], bias, [2, 1], [1, 0], 2);
    const y = T.conv2d(tensor(Float64Array.from(xs), { shape: [1, 2, 4, 5] }), tensor(Float64Array.from(ws), { shape: [2, 1, 2, 2] }), f64(bias), {
      stride: [2, 1],
      padding: [1, 0],
      groups: 2,
    });
    assert.deepEqual(y.shape, ref.shape);
    assertClose(y, ref.data, TOL, "vs JS reference");
    assertClose(y, TORCH.conv2d_groups_stride_pad, TOL, "vs PyTorch");
  });

  tt("maxPool2d and avgPool2d on 0..15", () => {
    const x = T.arange(16, undefined, 1, { dtype: "float64" }).reshape([1, 1, 4, 4]);
    // 2x2 windows of [[0,1,2,3],[4,5,6,7],[8,9,10,11],[12,13,14,15]].
    assertClose(T.maxPool2d(x, 2), [5, 7, 13, 15], TOL, "max");
    assertClose(T.avgPool2d(x, 2), [2.5, 4.5, 10.5, 12.5], TOL, "avg");
    // 3x3 windows, stride 1: max is the bottom-right element; avg the centre element.
    assertClose(T.maxPool2d(x, 3, 1), [10, 11, 14, 15], TOL, "max 3x3");
    assertClose(T.avgPool2d(x, 3, 1), [5, 6, 9, 10], TOL, "avg 3x3");
    // Padding: max pads with -inf (so the corner window of 2x2 stride 2 pad 1 sees only element 0).
    assertClose(T.maxPool2d(x, 2, 2, 1), [0, 2, 3, 8, 10, 11, 12, 14, 15], TOL, "max padded");
  });

  tt("avgPool2d counts padding zeros in the divisor (count_include_pad)", () => {
    const x = T.ones([1, 1, 3, 3], { dtype: "float64" });
    // 3x3 window, stride 1, padding 1: a corner sees 4 ones of 9 cells, an edge 6, the centre 9.
    assertClose(T.avgPool2d(x, 3, 1, 1), [4, 6, 4, 6, 9, 6, 4, 6, 4].map((n) => n / 9), TOL);
  });

  tt("adaptiveAvgPool2d", () => {
    const x = T.arange(16, undefined, 1, { dtype: "float64" }).reshape([1, 1, 4, 4]);
    assertClose(T.adaptiveAvgPool2d(x, 1), 7.5, TOL, "global mean");
    assertClose(T.adaptiveAvgPool2d(x, 2), [2.5, 4.5, 10.5, 12.5], TOL, "2x2");
    // 4 → 3 bins: start floor(i·4/3), end ceil((i+1)·4/3) = [0,2), [1,3), [2,4) on each axis.
    const bins = [[0, 1], [1, 2], [2, 3]];
    const expected = bins.flatMap((rs) => bins.map((cs) => sum(rs.flatMap((r) => cs.map((c) => r * 4 + c))) / 4));
    assertClose(T.adaptiveAvgPool2d(x, 3), expected, TOL, "3x3 overlapping bins");
  });
});

describe("resampling and padding", () => {
  tt("interpolate nearest", () => {
    const x = f64([[[[1, 2], [3, 4]]]]);
    assertClose(T.interpolate(x, { scaleFactor: 2 }), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], TOL, "x2");
    // 2 → 3: source index floor(o · 2/3) = 0, 0, 1.
    assertClose(T.interpolate(x, { size: [3, 3] }), [1, 1, 2, 1, 1, 2, 3, 3, 4], TOL, "2 → 3");
    // 4 → 2: source index floor(o · 2) = 0, 2.
    const y = f64([[[[1, 2, 3, 4]]]]);
    assertClose(T.interpolate(y, { size: [1, 2] }), [1, 3], TOL, "4 → 2");
  });

  tt("interpolate bilinear", () => {
    // alignCorners: the ends map to the ends: [0, 1] → [0, 0.5, 1].
    assertClose(T.interpolate(f64([[[[0, 1]]]]), { size: [1, 3], mode: "bilinear", alignCorners: true }), [0, 0.5, 1], TOL, "align corners");
    // Half-pixel centres: output o samples (o + 0.5)/2 - 0.5 = -0.25 (→ 0), 0.25, 0.75, 1.25 (→ edge).
    assertClose(T.interpolate(f64([[[[0, 1]]]]), { size: [1, 4], mode: "bilinear" }), [0, 0.25, 0.75, 1], TOL, "half-pixel");
    const img = [
      [1, 2, 4],
      [0, -1, 3],
    ];
    const got = T.interpolate(f64([[img]]), { size: [3, 5], mode: "bilinear" });
    assertClose(got, bilinearRef(img, 3, 5, false), TOL, "vs JS reference");
    assertClose(got, TORCH.bilinear_3x5, TOL, "vs PyTorch");
  });

  tt("resizeBicubicAntialias: same size is the identity, a constant stays constant (renormalised borders), inputs checked", () => {
    const x = tensor(Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => (i * 37) % 11), { shape: [1, 2, 5, 7] });
    assertClose(T.resizeBicubicAntialias(x, [5, 7]), x.toArray(), 1e-6, "identity");
    for (const size of [[3, 4], [11, 13], [2, 9]] as [number, number][]) {
      const out = T.resizeBicubicAntialias(T.full([2, 1, 6, 5], 3), size);
      assert.deepEqual(out.shape, [2, 1, ...size]);
      assertClose(out, new Array<number>(2 * size[0] * size[1]).fill(3), 1e-6, `constant to ${size.join("×")}`);
    }
    assert.throws(() => T.resizeBicubicAntialias(T.ones([2, 2, 2]), [2, 2]), /resizeBicubicAntialias: argument 'input' must be a 4-d tensor/);
    assert.throws(() => T.resizeBicubicAntialias(T.ones([1, 1, 2, 2], { dtype: "int32" }), [2, 2]), /resizeBicubicAntialias: argument 'input' must be a float32 or float64 tensor/);
    assert.throws(() => T.resizeBicubicAntialias(T.ones([1, 1, 2, 2]), [0, 2]), /resizeBicubicAntialias: argument 'size'/);
  });

  tt("pad reflect", () => {
    // 1-d: [1, 2, 3, 4] padded (2, 1) mirrors without repeating the edge: 3 2 | 1 2 3 4 | 3.
    assertClose(T.pad(f64([[[1, 2, 3, 4]]]), [2, 1], "reflect"), [3, 2, 1, 2, 3, 4, 3], TOL, "1-d");
    // 2-d: [[1,2,3],[4,5,6],[7,8,9]] padded by 1 on every side.
    const x = f64([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
    const expected = [
      [5, 4, 5, 6, 5],
      [2, 1, 2, 3, 2],
      [5, 4, 5, 6, 5],
      [8, 7, 8, 9, 8],
      [5, 4, 5, 6, 5],
    ].flat();
    assertClose(T.pad(x, [1, 1, 1, 1], "reflect"), expected, TOL, "2-d");
  });

  tt("pad constant and replicate", () => {
    assertClose(T.pad(f64([[1, 2]]), [1, 2], "constant", -1), [-1, 1, 2, -1, -1], TOL, "constant last dim");
    assertClose(T.pad(f64([[1, 2]]), [0, 0, 1, 0]), [0, 0, 1, 2], TOL, "constant second-to-last dim");
    assertClose(T.pad(f64([[[1, 2, 3]]]), [2, 1], "replicate"), [1, 1, 1, 2, 3, 3], TOL, "replicate");
  });
});

describe("reductions", () => {
  tt("var/std: unbiased and population", () => {
    // [1, 2, 3, 4]: mean 2.5, Σ(x-m)² = 2.25+0.25+0.25+2.25 = 5.
    const x = f64([1, 2, 3, 4]);
    assertClose(x.var().item(), 5 / 3, TOL, "unbiased var");
    assertClose(x.var(undefined, { correction: 0 }).item(), 5 / 4, TOL, "population var");
    assertClose(x.std().item(), Math.sqrt(5 / 3), TOL, "unbiased std");
    assertClose(x.std(undefined, { correction: 0 }).item(), Math.sqrt(5 / 4), TOL, "population std");
    // Per row of [[1, 3], [2, 8]]: deviations ±1 and ±3 → unbiased 2 and 18, population 1 and 9.
    const m = f64([[1, 3], [2, 8]]);
    assertClose(m.var(1), [2, 18], TOL, "row var");
    assertClose(m.var(1, { correction: 0, keepdim: true }), [1, 9], TOL, "row population var");
    assert.deepEqual(m.var(1, { keepdim: true }).shape, [2, 1]);
    assertClose(m.std(0, { correction: 0 }), [0.5, 2.5], TOL, "column population std");
  });

  tt("norms", () => {
    assertClose(f64([3, -4]).norm().item(), 5, TOL, "L2");
    assertClose(f64([3, -4]).norm(1).item(), 7, TOL, "L1");
    assertClose(f64([3, -4]).norm(Infinity).item(), 4, TOL, "Linf");
    assertClose(f64([[3, 4], [6, 8]]).norm(2, 1), [5, 10], TOL, "row norms");
  });

  tt("sum/mean/max/min/logsumexp over dims", () => {
    const x = f64([[1, 5, 2], [7, -1, 0]]);
    assertClose(x.sum(0), [8, 4, 2], TOL);
    assertClose(x.mean(1), [8 / 3, 2], TOL);
    assertClose(x.max().item(), 7, TOL);
    assertClose(x.min().item(), -1, TOL);
    const { values, indices } = x.maxDim(1);
    assertClose(values, [5, 7], TOL);
    assert.deepEqual(indices.toArray(), [1, 0]);
    assertClose(x.logsumexp(1), [Math.log(Math.exp(1) + Math.exp(5) + Math.exp(2)), Math.log(Math.exp(7) + Math.exp(-1) + 1)], TOL);
  });
});

describe("einsum", () => {
  tt("matmul, batch dot, diagonal, trace, outer, transpose", () => {
    const a = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const b = [
      [1, 0],
      [-1, 2],
      [0.5, 1],
    ];
    assertClose(T.einsum("ij,jk->ik", f64(a), f64(b)), matmulRef(a, b).flat(), TOL, "ij,jk->ik");
    // Row-wise dot products.
    assertClose(T.einsum("bi,bi->b", f64(a), f64([[3, 2, 1], [6, 5, 4]])), [1 * 3 + 2 * 2 + 3 * 1, 4 * 6 + 5 * 5 + 6 * 4], TOL, "bi,bi->b");
    const sq = f64([[1, 2], [3, 4]]);
    assertClose(T.einsum("ii->i", sq), [1, 4], TOL, "diagonal");
    assertClose(T.einsum("ii->", sq).item(), 5, TOL, "trace");
    assertClose(T.einsum("i,j->ij", f64([1, 2]), f64([3, 4, 5])), [3, 4, 5, 6, 8, 10], TOL, "outer");
    assertClose(T.einsum("ij->ji", f64(a)), [1, 4, 2, 5, 3, 6], TOL, "transpose");
    assertClose(T.einsum("bij,bjk->bik", f64([a, a]), f64([b, b])), [...matmulRef(a, b).flat(), ...matmulRef(a, b).flat()], TOL, "batched");
  });
});

describe("linear algebra", () => {
  tt("eigh of [[2, 1], [1, 2]]: eigenvalues 1 and 3", () => {
    const { eigenvalues, eigenvectors } = linalg.eigh(f64([[2, 1], [1, 2]]));
    assertClose(eigenvalues, [1, 3], TOL, "eigenvalues");
    // Eigenvectors (1, -1)/√2 and (1, 1)/√2, up to sign: compare absolute values.
    const s = Math.SQRT1_2;
    assertClose(eigenvectors.abs(), [s, s, s, s], TOL, "|eigenvectors|");
    const v = eigenvectors.toArray(); // row-major [[v00, v01], [v10, v11]], columns are eigenvectors
    assertClose(v[0]! * v[2]!, -0.5, TOL, "first eigenvector has opposite signs");
    assertClose(v[1]! * v[3]!, 0.5, TOL, "second eigenvector has equal signs");
  });

  tt("eigh of Q·diag(1, 2, 5)·Qᵀ (Q a Householder reflection)", () => {
    // Q = I - 2vvᵀ/(vᵀv), v = (1, 2, 2): Q = [[7, -4, -4], [-4, 1, -8], [-4, -8, 1]] / 9.
    const Q = [[7, -4, -4], [-4, 1, -8], [-4, -8, 1]].map((r) => r.map((x) => x / 9));
    const D = [[1, 0, 0], [0, 2, 0], [0, 0, 5]];
    const A = matmulRef(matmulRef(Q, D), Q.map((_, i) => Q.map((r) => r[i]!)));
    const { eigenvalues, eigenvectors } = linalg.eigh(f64(A));
    assertClose(eigenvalues, [1, 2, 5], 1e-12, "eigenvalues");
    assertClose(eigenvectors.abs(), Q.flat().map(Math.abs), 1e-12, "|eigenvectors| = |Q|");
    // A·V = V·diag(λ) and VᵀV = I.
    const V = eigenvectors;
    assertClose(f64(A).matmul(V), V.mul(eigenvalues.unsqueeze(0)).toArray(), 1e-12, "A V = V Λ");
    assertClose(V.mT.matmul(V), T.eye(3).toArray(), 1e-12, "orthonormal");
  });

  tt("eigvalsh: the eigenvalues of eigh, ascending, without eigenvectors; non-square and NaN refused", () => {
    assertClose(linalg.eigvalsh(f64([[2, 1], [1, 2]])), [1, 3], 1e-12, "[[2, 1], [1, 2]]");
    const A = f64([[4, 1, 0.5], [1, 3, 0.25], [0.5, 0.25, 2]]);
    assertClose(linalg.eigvalsh(A), linalg.eigh(A).eigenvalues.toArray(), 1e-12, "same as eigh");
    assertClose(linalg.eigvalsh(f64([[2, 99], [1, 2]]), "L"), [1, 3], 1e-12, "uplo L reads the lower triangle only");
    assert.throws(() => linalg.eigvalsh(f64([[1, 2, 3]])), /eigvalsh.*square/);
    assert.throws(() => linalg.eigvalsh(f64([[NaN, 0], [0, 1]])), /eigvalsh.*NaN or Inf/);
  });

  tt("sqrtmSymmetric: diagonal, 2x2 closed form, and S² = A", () => {
    assertClose(linalg.sqrtmSymmetric(f64([[4, 0, 0], [0, 9, 0], [0, 0, 16]])), [2, 0, 0, 0, 3, 0, 0, 0, 4], 1e-12, "diag");
    // [[2,1],[1,2]] = 1·P₋ + 3·P₊ with P± = ½[[1, ±1], [±1, 1]] → sqrt = ½[[1+√3, √3-1], [√3-1, 1+√3]].
    const r3 = Math.sqrt(3);
    assertClose(linalg.sqrtmSymmetric(f64([[2, 1], [1, 2]])), [1 + r3, r3 - 1, r3 - 1, 1 + r3].map((v) => v / 2), 1e-12, "2x2");
    const B = f64([[1, 2, 0, 1], [0, 1, -1, 2], [3, 0, 1, 1], [1, 1, 1, -2]]);
    const A = B.matmul(B.mT);
    const S = linalg.sqrtmSymmetric(A);
    assertClose(S.matmul(S), A.toArray(), 1e-10, "S·S = A");
    assertClose(S.sub(S.mT).abs().max().item(), 0, 1e-12, "S symmetric");
    assert.ok(linalg.eigh(S).eigenvalues.min().item() > 0, "S positive definite");
    // Rounding-level negative eigenvalues are clamped: a PSD rank-1 matrix has a real square root.
    const vvT = f64([[1, 2], [2, 4]]); // = (1,2)(1,2)ᵀ, eigenvalues 0 and 5 → sqrt = vvᵀ/√5
    assertClose(linalg.sqrtmSymmetric(vvT), [1, 2, 2, 4].map((v) => v / Math.sqrt(5)), 1e-12, "rank 1");
  });

  tt("cholesky", () => {
    // [[4, 2], [2, 3]] = L·Lᵀ with L = [[2, 0], [1, √2]].
    assertClose(linalg.cholesky(f64([[4, 2], [2, 3]])), [2, 0, 1, Math.SQRT2], TOL, "2x2");
    assertClose(linalg.cholesky(f64([[4, 2], [2, 3]]), true), [2, 1, 0, Math.SQRT2], TOL, "2x2 upper");
    // The classic example: [[4, 12, -16], [12, 37, -43], [-16, -43, 98]] → L = [[2,0,0],[6,1,0],[-8,5,3]].
    assertClose(linalg.cholesky(f64([[4, 12, -16], [12, 37, -43], [-16, -43, 98]])), [2, 0, 0, 6, 1, 0, -8, 5, 3], TOL, "3x3");
  });

  tt("solve", () => {
    // 3x + y = 9, x + 2y = 8 → x = 2, y = 3.
    assertClose(linalg.solve(f64([[3, 1], [1, 2]]), f64([[9], [8]])), [2, 3], TOL, "2x2");
    // Several right-hand sides at once, and A·X = B holds.
    const A = f64([[2, -1, 0], [-1, 2, -1], [0, -1, 2]]);
    const B = f64([[1, 0], [0, 1], [1, 1]]);
    const X = linalg.solve(A, B);
    assertClose(A.matmul(X), B.toArray(), 1e-12, "A X = B");
    // A⁻¹ = [[3,2,1],[2,4,2],[1,2,3]] / 4, so X = A⁻¹B = [[3+1, 2+1], [2+2, 4+2], [1+3, 2+3]] / 4.
    assertClose(X, [1, 0.75, 1, 1.5, 1, 1.25], 1e-12, "X");
  });

  tt("inverse, slogdet, trace", () => {
    assertClose(linalg.inverse(f64([[4, 7], [2, 6]])), [0.6, -0.7, -0.2, 0.4], TOL, "inverse");
    const { sign, logabsdet } = linalg.slogdet(f64([[1, 2], [3, 4]])); // det = -2
    assertClose(sign.item(), -1, TOL, "sign");
    assertClose(logabsdet.item(), Math.LN2, TOL, "log|det|");
    assertClose(linalg.trace(f64([[1, 2], [3, 4]])).item(), 5, TOL, "trace");
  });
});
