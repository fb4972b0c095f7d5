// Autograd gradients of every differentiable op in the tensor API against central finite
// differences in float64 (test/helpers/gradcheck.ts states the error measure). Inputs are tiny and
// chosen away from kinks: no element of abs/relu at 0, no ties in max/min/sort/pooling windows, no
// value near a clamp bound, positive bases for log/sqrt/pow.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { Tensor, tensor, linalg } from "../../src/torch/index.ts";
import { gradcheck, uniform, distinct } from "../helpers/gradcheck.ts";

const TOL = 1e-6;

/** [name, f, inputs, indices of the inputs to differentiate (default: all floating-point ones)] */
type Case = [name: string, f: (x: Tensor[]) => Tensor, inputs: () => Tensor[], wrt?: number[]];

function check(cases: Case[]): void {
  for (const [name, f, inputs, wrt] of cases) {
    test(name, (t) => {
      T.tidy(() => {
        const r = gradcheck(f, inputs(), { wrt });
        t.diagnostic(`max rel error ${r.maxRelError.toExponential(2)} over ${r.checked} elements`);
        assert.ok(r.checked > 0, "no input element was checked");
        assert.ok(
          r.maxRelError < TOL,
          `${name}: max rel error ${r.maxRelError} at input ${r.worst.input}[${r.worst.element}]: analytic ${r.worst.analytic}, numeric ${r.worst.numeric}`,
        );
      });
    });
  }
}

const long = (v: number[], shape?: number[]): Tensor => tensor(v, { dtype: "int64", shape });
const bool = (v: boolean[], shape?: number[]): Tensor => tensor(v, { dtype: "bool", shape });
const u = uniform;
const d = distinct;
/** Uniform in [0.5, 2): safe for log, sqrt, reciprocal, pow. */
const pos = (shape: number[], seed: number): Tensor => uniform(shape, seed, 0.5, 2);
/** A symmetric positive-definite n×n matrix (well conditioned). */
function spd(n: number, seed: number): Tensor {
  return T.tidy(() => {
    const b = uniform([n, n], seed);
    return b.matmul(b.mT).add(T.eye(n, { dtype: "float64" }).mul(n));
  });
}
const sym = (a: Tensor): Tensor => a.add(a.mT).mul(0.5);

describe("gradcheck helper", () => {
  test("detects a wrong gradient", () => {
    // d/dx [detach(x)·x] is reported as detach(x) by autograd, but numerically it is 2x.
    const r = gradcheck(([x]) => x!.detach().mul(x!), [u([3], 1)]);
    assert.ok(r.maxRelError > 0.1, `expected a large error, got ${r.maxRelError}`);
  });
  test("passes index inputs through unchecked", () => {
    const r = gradcheck(([x, i]) => x!.indexSelect(0, i!), [u([4], 2), long([3, 0])]);
    assert.equal(r.checked, 4);
    assert.ok(r.maxRelError < TOL);
  });
});

describe("elementwise arithmetic", () => {
  check([
    ["add tensor (broadcast)", ([a, b]) => a!.add(b!), () => [u([2, 3], 1), u([3], 2)]],
    ["add with alpha", ([a, b]) => a!.add(b!, -2.5), () => [u([2, 3], 1), u([2, 1], 2)]],
    ["add scalar", ([a]) => a!.add(1.5), () => [u([2, 3], 3)]],
    ["sub tensor (broadcast)", ([a, b]) => a!.sub(b!), () => [u([2, 1, 3], 4), u([4, 1], 5)]],
    ["sub scalar", ([a]) => a!.sub(0.25), () => [u([3], 6)]],
    ["rsub", ([a]) => a!.rsub(2), () => [u([3], 7)]],
    ["mul tensor (broadcast)", ([a, b]) => a!.mul(b!), () => [u([2, 3], 8), u([2, 1], 9)]],
    ["mul scalar", ([a]) => a!.mul(-3), () => [u([4], 10)]],
    ["div tensor (broadcast)", ([a, b]) => a!.div(b!), () => [u([2, 3], 11), pos([3], 12)]],
    ["div scalar", ([a]) => a!.div(0.7), () => [u([4], 13)]],
    ["remainder scalar (away from the jumps)", ([a]) => a!.remainder(1), () => [u([4], 14, 0.1, 0.9)]],
    ["pow scalar exponent", ([a]) => a!.pow(2.5), () => [pos([2, 3], 15)]],
    ["pow integer exponent on signed base", ([a]) => a!.pow(3), () => [u([2, 3], 16)]],
    ["pow tensor exponent (base and exponent)", ([a, b]) => a!.pow(b!), () => [pos([2, 3], 17), u([3], 18)]],
    ["neg", ([a]) => a!.neg(), () => [u([3], 19)]],
    ["abs", ([a]) => a!.abs(), () => [d([2, 3], 20)]],
    ["exp", ([a]) => a!.exp(), () => [u([2, 3], 21)]],
    ["log", ([a]) => a!.log(), () => [pos([2, 3], 22)]],
    ["log1p", ([a]) => a!.log1p(), () => [pos([3], 23)]],
    ["log2", ([a]) => a!.log2(), () => [pos([3], 24)]],
    ["sqrt", ([a]) => a!.sqrt(), () => [pos([2, 3], 25)]],
    ["rsqrt", ([a]) => a!.rsqrt(), () => [pos([2, 3], 26)]],
    ["square", ([a]) => a!.square(), () => [u([2, 3], 27)]],
    ["reciprocal", ([a]) => a!.reciprocal(), () => [pos([2, 3], 28)]],
    ["sin", ([a]) => a!.sin(), () => [u([3], 29)]],
    ["cos", ([a]) => a!.cos(), () => [u([3], 30)]],
    ["tanh", ([a]) => a!.tanh(), () => [u([2, 3], 31, -2, 2)]],
    ["sigmoid", ([a]) => a!.sigmoid(), () => [u([2, 3], 32, -3, 3)]],
    ["relu", ([a]) => a!.relu(), () => [d([2, 3], 33)]],
    ["gelu exact", ([a]) => a!.gelu(), () => [u([2, 3], 34, -3, 3)]],
    ["gelu tanh", ([a]) => a!.gelu("tanh"), () => [u([2, 3], 35, -3, 3)]],
    ["clamp min and max", ([a]) => a!.clamp(-0.5, 0.5), () => [tensor([-0.9, -0.3, 0.1, 0.45, 0.7, -0.6], { dtype: "float64" })]],
    ["clamp min only", ([a]) => a!.clamp(0.2), () => [tensor([-0.9, 0.3, 0.1, 0.45], { dtype: "float64" })]],
    ["clamp max only", ([a]) => a!.clamp(null, 0.2), () => [tensor([-0.9, 0.3, 0.1, 0.45], { dtype: "float64" })]],
    ["where (tensor, tensor)", ([a, b, c]) => T.where(c!, a!, b!), () => [u([2, 3], 36), u([3], 37), bool([true, false, true, false, false, true], [2, 3])]],
    ["where (tensor, number)", ([a, c]) => T.where(c!, a!, 0.5), () => [u([2, 2], 38), bool([true, false, false, true], [2, 2])]],
    ["where (number, tensor)", ([b, c]) => T.where(c!, -1, b!), () => [u([2, 2], 39), bool([true, false, false, true], [2, 2])]],
    ["maskedFill", ([a, m]) => a!.maskedFill(m!, 3), () => [u([2, 3], 40), bool([true, false, true], [3])]],
    ["maximum", ([a, b]) => a!.maximum(b!), () => [d([2, 3], 41), d([2, 3], 42, -0.99, 0.97)]],
    ["minimum", ([a, b]) => a!.minimum(b!), () => [d([2, 3], 43), d([2, 3], 44, -0.99, 0.97)]],
  ]);
});

describe("reductions", () => {
  check([
    ["sum all", ([a]) => a!.sum(), () => [u([2, 3], 1)]],
    ["sum dim", ([a]) => a!.sum(1), () => [u([2, 3, 2], 2)]],
    ["sum dims keepdim", ([a]) => a!.sum([0, -1], true), () => [u([2, 3, 2], 3)]],
    ["mean all", ([a]) => a!.mean(), () => [u([2, 3], 4)]],
    ["mean dim keepdim", ([a]) => a!.mean(-1, true), () => [u([2, 3], 5)]],
    ["mean dims", ([a]) => a!.mean([0, 2]), () => [u([2, 3, 2], 6)]],
    ["prod", ([a]) => a!.prod(), () => [u([2, 3], 7, 0.5, 1.5)]],
    ["cumsum", ([a]) => a!.cumsum(1), () => [u([2, 3], 8)]],
    ["max all", ([a]) => a!.max(), () => [d([2, 3], 9)]],
    ["min all", ([a]) => a!.min(), () => [d([2, 3], 10)]],
    ["maxDim values", ([a]) => a!.maxDim(1).values, () => [d([2, 4], 11)]],
    ["maxDim keepdim", ([a]) => a!.maxDim(0, true).values, () => [d([3, 2], 12)]],
    ["minDim values", ([a]) => a!.minDim(-1).values, () => [d([2, 4], 13)]],
    ["logsumexp dim", ([a]) => a!.logsumexp(1), () => [u([2, 3], 14, -2, 2)]],
    ["logsumexp dims keepdim", ([a]) => a!.logsumexp([0, 1], true), () => [u([2, 3], 15, -2, 2)]],
    ["var all (unbiased)", ([a]) => a!.var(), () => [u([2, 3], 16)]],
    ["var dim (population, keepdim)", ([a]) => a!.var(1, { correction: 0, keepdim: true }), () => [u([2, 4], 17)]],
    ["std all", ([a]) => a!.std(), () => [u([2, 3], 18)]],
    ["std dim (population)", ([a]) => a!.std(0, { correction: 0 }), () => [u([3, 2], 19)]],
    ["norm 2 all", ([a]) => a!.norm(), () => [u([2, 3], 20)]],
    ["norm 2 dim keepdim", ([a]) => a!.norm(2, 1, true), () => [u([2, 3], 21)]],
    ["norm 1 dim", ([a]) => a!.norm(1, 0), () => [d([2, 3], 22)]],
    ["norm 3 all", ([a]) => a!.norm(3), () => [d([2, 3], 23)]],
    ["softmax", ([a]) => a!.softmax(1), () => [u([2, 4], 24, -2, 2)]],
    ["softmax dim 0", ([a]) => a!.softmax(0), () => [u([3, 2], 25, -2, 2)]],
    ["logSoftmax", ([a]) => a!.logSoftmax(-1), () => [u([2, 4], 26, -2, 2)]],
  ]);
});

describe("losses", () => {
  const targets = () => long([1, 0, 3]);
  const w = () => tensor([0.5, 2, 1, 1.5], { dtype: "float64" });
  check([
    ["crossEntropy mean", ([x, t]) => T.crossEntropy(x!, t!), () => [u([3, 4], 1, -2, 2), targets()]],
    ["crossEntropy sum", ([x, t]) => T.crossEntropy(x!, t!, { reduction: "sum" }), () => [u([3, 4], 2, -2, 2), targets()]],
    ["crossEntropy none", ([x, t]) => T.crossEntropy(x!, t!, { reduction: "none" }), () => [u([3, 4], 3, -2, 2), targets()]],
    // (class weights are constants: libtorch's nll_loss is not differentiable with respect to them)
    ["crossEntropy class weights", ([x, t, w]) => T.crossEntropy(x!, t!, { weight: w! }), () => [u([3, 4], 4, -2, 2), targets(), w()], [0]],
    ["crossEntropy ignoreIndex", ([x, t]) => T.crossEntropy(x!, t!, { ignoreIndex: 0 }), () => [u([3, 4], 5, -2, 2), targets()]],
    ["crossEntropy label smoothing", ([x, t]) => T.crossEntropy(x!, t!, { labelSmoothing: 0.2 }), () => [u([3, 4], 6, -2, 2), targets()]],
    [
      "crossEntropy weights + ignoreIndex + label smoothing",
      ([x, t, w]) => T.crossEntropy(x!, t!, { weight: w!, ignoreIndex: 3, labelSmoothing: 0.1 }),
      () => [u([3, 4], 7, -2, 2), targets(), w()],
      [0],
    ],
    ["crossEntropy spatial (N, C, H, W)", ([x, t]) => T.crossEntropy(x!, t!), () => [u([2, 3, 2, 2], 8, -2, 2), long([0, 1, 2, 1, 2, 2, 0, 1], [2, 2, 2])]],
    [
      "crossEntropy probability targets (logits and targets)",
      ([x, p]) => T.crossEntropy(x!, p!),
      () => [u([3, 4], 9, -2, 2), T.tidy(() => u([3, 4], 10).softmax(1))],
    ],
    [
      "crossEntropy probability targets with weights and smoothing",
      ([x, p, w]) => T.crossEntropy(x!, p!, { weight: w!, labelSmoothing: 0.1 }),
      () => [u([3, 4], 11, -2, 2), T.tidy(() => u([3, 4], 12).softmax(1)), w()],
      [0, 1],
    ],
    ["nllLoss", ([x, t]) => T.nllLoss(x!, t!), () => [u([3, 4], 13, -3, -0.1), targets()]],
    ["nllLoss weights + ignoreIndex", ([x, t, w]) => T.nllLoss(x!, t!, { weight: w!, ignoreIndex: 0 }), () => [u([3, 4], 14, -3, -0.1), targets(), w()], [0]],
    ["nllLoss none", ([x, t]) => T.nllLoss(x!, t!, { reduction: "none" }), () => [u([3, 4], 15, -3, -0.1), targets()]],
    ["mseLoss mean (input and target)", ([a, b]) => T.mseLoss(a!, b!), () => [u([2, 3], 16), u([2, 3], 17)]],
    ["mseLoss sum", ([a, b]) => T.mseLoss(a!, b!, "sum"), () => [u([2, 3], 18), u([2, 3], 19)]],
    ["mseLoss none", ([a, b]) => T.mseLoss(a!, b!, "none"), () => [u([2, 3], 20), u([2, 3], 21)]],
    ["binaryCrossEntropyWithLogits", ([a, b]) => T.binaryCrossEntropyWithLogits(a!, b!), () => [u([2, 3], 22, -2, 2), u([2, 3], 23, 0, 1)]],
  ]);
});

describe("products", () => {
  check([
    ["matmul 2-d", ([a, b]) => a!.matmul(b!), () => [u([2, 3], 1), u([3, 4], 2)]],
    ["matmul vector·matrix", ([a, b]) => a!.matmul(b!), () => [u([3], 3), u([3, 2], 4)]],
    ["matmul matrix·vector", ([a, b]) => a!.matmul(b!), () => [u([2, 3], 5), u([3], 6)]],
    ["matmul batched broadcast", ([a, b]) => a!.matmul(b!), () => [u([2, 2, 3], 7), u([3, 2], 8)]],
    ["mm", ([a, b]) => a!.mm(b!), () => [u([2, 3], 9), u([3, 2], 10)]],
    ["bmm", ([a, b]) => a!.bmm(b!), () => [u([2, 2, 3], 11), u([2, 3, 2], 12)]],
    ["linear with bias", ([x, w, b]) => T.linear(x!, w!, b!), () => [u([2, 3], 13), u([4, 3], 14), u([4], 15)]],
    ["linear without bias (3-d input)", ([x, w]) => T.linear(x!, w!), () => [u([2, 2, 3], 16), u([2, 3], 17)]],
    ["einsum batched matmul", ([a, b]) => T.einsum("bij,bjk->bik", a!, b!), () => [u([2, 2, 3], 18), u([2, 3, 2], 19)]],
    ["einsum outer product", ([a, b]) => T.einsum("i,j->ij", a!, b!), () => [u([3], 20), u([2], 21)]],
    ["einsum trace-like contraction", ([a]) => T.einsum("ii->", a!), () => [u([3, 3], 22)]],
    ["einsum three operands", ([a, b, c]) => T.einsum("ij,jk,k->i", a!, b!, c!), () => [u([2, 3], 23), u([3, 2], 24), u([2], 25)]],
  ]);
});

describe("normalisation and embeddings", () => {
  check([
    ["layerNorm without affine", ([x]) => T.layerNorm(x!, [4]), () => [u([2, 4], 1)]],
    ["layerNorm with affine (x, weight, bias)", ([x, w, b]) => T.layerNorm(x!, [4], w!, b!), () => [u([2, 4], 2), u([4], 3), u([4], 4)]],
    ["layerNorm over two dims", ([x, w, b]) => T.layerNorm(x!, [2, 3], w!, b!), () => [u([2, 2, 3], 5), u([2, 3], 6), u([2, 3], 7)]],
    ["embedding (grad wrt weight, repeated indices)", ([w, i]) => T.embedding(w!, i!), () => [u([4, 3], 8), long([1, 3, 1, 0, 3, 3], [2, 3])]],
    ["normalize p=2", ([x]) => T.normalize(x!), () => [u([2, 3], 9)]],
    ["normalize p=2 dim 0", ([x]) => T.normalize(x!, 2, 0), () => [u([3, 2], 10)]],
    ["normalize p=1", ([x]) => T.normalize(x!, 1, 1), () => [d([2, 3], 11)]],
    ["cosineSimilarity dim 1", ([a, b]) => T.cosineSimilarity(a!, b!), () => [u([2, 3], 12), u([2, 3], 13)]],
    ["cosineSimilarity broadcast, last dim", ([a, b]) => T.cosineSimilarity(a!, b!, -1), () => [u([2, 1, 3], 14), u([2, 3], 15)]],
  ]);
});

describe("shape and indexing", () => {
  check([
    ["reshape", ([a]) => a!.reshape([3, -1]), () => [u([2, 3], 1)]],
    ["view", ([a]) => a!.view([6]), () => [u([2, 3], 2)]],
    ["permute", ([a]) => a!.permute([2, 0, 1]), () => [u([2, 3, 2], 3)]],
    ["transpose", ([a]) => a!.transpose(0, 2), () => [u([2, 3, 2], 4)]],
    ["mT", ([a]) => a!.mT, () => [u([2, 3], 5)]],
    ["contiguous of a transpose", ([a]) => a!.transpose(0, 1).contiguous().view([6]), () => [u([2, 3], 6)]],
    ["expand", ([a]) => a!.expand([2, 3, 4]), () => [u([3, 1], 7)]],
    ["expandAs", ([a, b]) => a!.expandAs(b!), () => [u([3], 8), u([2, 3], 9)]],
    ["repeat", ([a]) => a!.repeat([2, 1, 3]), () => [u([2, 2], 10)]],
    ["squeeze all", ([a]) => a!.squeeze(), () => [u([1, 3, 1], 11)]],
    ["squeeze dim", ([a]) => a!.squeeze(2), () => [u([1, 3, 1], 12)]],
    ["unsqueeze", ([a]) => a!.unsqueeze(-1), () => [u([2, 3], 13)]],
    ["flatten", ([a]) => a!.flatten(1), () => [u([2, 2, 3], 14)]],
    ["cat", ([a, b]) => T.cat([a!, b!], 1), () => [u([2, 3], 15), u([2, 2], 16)]],
    ["stack", ([a, b]) => T.stack([a!, b!], -1), () => [u([2, 3], 17), u([2, 3], 18)]],
    ["split by size", ([a]) => T.cat(a!.split(2, 1).map((p, i) => p.mul(i + 1)), 1), () => [u([2, 5], 19)]],
    ["split by sizes", ([a]) => T.cat(a!.split([1, 3], 0).map((p, i) => p.mul(i + 2)), 0), () => [u([4, 2], 20)]],
    ["chunk", ([a]) => T.cat(a!.chunk(3, 1).map((p, i) => p.mul(i - 1.5)), 1), () => [u([2, 6], 21)]],
    ["narrow", ([a]) => a!.narrow(1, 1, 2), () => [u([2, 4], 22)]],
    ["slice with step", ([a]) => a!.slice(1, 0, 5, 2), () => [u([2, 5], 23)]],
    ["select", ([a]) => a!.select(0, -1), () => [u([3, 2], 24)]],
    ["indexSelect (repeated indices)", ([a, i]) => a!.indexSelect(1, i!), () => [u([2, 4], 25), long([3, 0, 3])]],
    ["index (advanced)", ([a, i, j]) => a!.index([i!, j!]), () => [u([3, 4], 26), long([0, 2, 2]), long([1, 3, 1])]],
    ["index with a null (whole dim)", ([a, j]) => a!.index([null, j!]), () => [u([3, 4], 27), long([3, 0])]],
    ["gather", ([a, i]) => a!.gather(1, i!), () => [u([2, 3], 28), long([2, 0, 0, 1, 1, 2], [2, 3])]],
    [
      "scatter (self and src)",
      ([a, s, i]) => a!.scatter(0, i!, s!),
      () => [u([3, 2], 29), u([2, 2], 30), long([2, 0, 1, 2], [2, 2])],
    ],
    ["scatter value", ([a, i]) => a!.scatter(1, i!, 0.5), () => [u([2, 3], 31), long([2, 0], [2, 1])]],
    [
      "scatterAdd (self and src, repeated targets)",
      ([a, s, i]) => a!.scatterAdd(0, i!, s!),
      () => [u([3, 2], 32), u([3, 2], 33), long([2, 0, 2, 2, 1, 0], [3, 2])],
    ],
    ["pad constant", ([a]) => T.pad(a!, [1, 2, 0, 1], "constant", 0.5), () => [u([1, 2, 3], 34)]],
    ["pad reflect", ([a]) => T.pad(a!, [2, 1, 1, 1], "reflect"), () => [u([1, 1, 3, 4], 35)]],
    ["pad replicate", ([a]) => T.pad(a!, [1, 1, 2, 0], "replicate"), () => [u([1, 1, 3, 3], 36)]],
    ["triu", ([a]) => a!.triu(), () => [u([3, 3], 37)]],
    ["triu diagonal 1", ([a]) => a!.triu(1), () => [u([3, 4], 38)]],
    ["tril", ([a]) => a!.tril(), () => [u([3, 3], 39)]],
    ["tril diagonal -1", ([a]) => a!.tril(-1), () => [u([4, 3], 40)]],
    ["flip", ([a]) => a!.flip([0, 1]), () => [u([2, 3], 41)]],
    ["roll", ([a]) => a!.roll([1, -1], [0, 1]), () => [u([2, 3], 42)]],
    ["topk values", ([a]) => a!.topk(2, 1).values, () => [d([2, 4], 43)]],
    ["topk smallest, dim 0", ([a]) => a!.topk(2, 0, false).values, () => [d([3, 2], 44)]],
    ["sort values", ([a]) => a!.sort(1).values, () => [d([2, 4], 45)]],
    ["sort descending values", ([a]) => a!.sort(0, true).values, () => [d([3, 2], 46)]],
  ]);
});

describe("convolution, pooling, resampling", () => {
  check([
    ["conv2d (x, weight, bias)", ([x, w, b]) => T.conv2d(x!, w!, b!), () => [u([1, 2, 4, 4], 1), u([3, 2, 2, 2], 2), u([3], 3)]],
    [
      "conv2d stride 2, padding 1",
      ([x, w, b]) => T.conv2d(x!, w!, b!, { stride: 2, padding: 1 }),
      () => [u([2, 1, 4, 4], 4), u([2, 1, 3, 3], 5), u([2], 6)],
    ],
    [
      "conv2d groups 2, no bias, rectangular stride/padding",
      ([x, w]) => T.conv2d(x!, w!, null, { groups: 2, stride: [1, 2], padding: [0, 1] }),
      () => [u([1, 4, 3, 4], 7), u([2, 2, 2, 2], 8)],
    ],
    ["conv2d dilation 2", ([x, w]) => T.conv2d(x!, w!, null, { dilation: 2 }), () => [u([1, 1, 5, 5], 9), u([1, 1, 2, 2], 10)]],
    ["maxPool2d 2x2", ([x]) => T.maxPool2d(x!, 2), () => [d([1, 2, 4, 4], 11)]],
    ["maxPool2d kernel 3, stride 2, padding 1", ([x]) => T.maxPool2d(x!, 3, 2, 1), () => [d([1, 1, 5, 5], 12)]],
    ["avgPool2d 2x2", ([x]) => T.avgPool2d(x!, 2), () => [u([1, 2, 4, 4], 13)]],
    ["avgPool2d kernel 3, stride 2, padding 1", ([x]) => T.avgPool2d(x!, 3, 2, 1), () => [u([1, 1, 5, 5], 14)]],
    ["adaptiveAvgPool2d (5x5 -> 3x2)", ([x]) => T.adaptiveAvgPool2d(x!, [3, 2]), () => [u([1, 2, 5, 5], 15)]],
    ["adaptiveAvgPool2d 3-d input", ([x]) => T.adaptiveAvgPool2d(x!, 1), () => [u([2, 3, 3], 16)]],
    ["interpolate nearest (size)", ([x]) => T.interpolate(x!, { size: [5, 3] }), () => [u([1, 2, 2, 3], 17)]],
    ["interpolate nearest (scale 2)", ([x]) => T.interpolate(x!, { scaleFactor: 2 }), () => [u([1, 1, 2, 2], 18)]],
    ["interpolate bilinear (upsample)", ([x]) => T.interpolate(x!, { size: [5, 4], mode: "bilinear" }), () => [u([1, 2, 3, 3], 19)]],
    [
      "interpolate bilinear alignCorners (downsample)",
      ([x]) => T.interpolate(x!, { size: [2, 3], mode: "bilinear", alignCorners: true }),
      () => [u([1, 1, 4, 5], 20)],
    ],
  ]);
});

describe("linear algebra", () => {
  check([
    ["eigh eigenvalues", ([a]) => linalg.eigh(sym(a!)).eigenvalues, () => [d([3, 3], 1, -1, 1, 0.05)]],
    [
      "eigh eigenvectors (sign-invariant: V diag(λ²) Vᵀ)",
      ([a]) => {
        const { eigenvalues, eigenvectors } = linalg.eigh(sym(a!));
        return eigenvectors.mul(eigenvalues.square().unsqueeze(0)).matmul(eigenvectors.mT);
      },
      () => [d([3, 3], 2, -1, 1, 0.05)],
    ],
    ["eigh eigenvalues, uplo U", ([a]) => linalg.eigh(sym(a!), "U").eigenvalues, () => [spd(3, 3)]],
    ["sqrtmSymmetric", ([a]) => linalg.sqrtmSymmetric(a!), () => [spd(3, 4)]],
    ["cholesky (lower)", ([a]) => linalg.cholesky(sym(a!)), () => [spd(3, 5)]],
    ["cholesky (upper)", ([a]) => linalg.cholesky(sym(a!), true), () => [spd(3, 6)]],
    ["solve (A and B, matrix right-hand side)", ([a, b]) => linalg.solve(a!, b!), () => [spd(3, 7), u([3, 2], 8)]],
    ["solve (non-symmetric A, batched)", ([a, b]) => linalg.solve(a!, b!), () => [T.tidy(() => u([2, 3, 3], 9).add(T.eye(3, { dtype: "float64" }).mul(2))), u([2, 3, 1], 10)]],
    ["inverse", ([a]) => linalg.inverse(a!), () => [spd(3, 11)]],
    ["slogdet logabsdet", ([a]) => linalg.slogdet(a!).logabsdet, () => [spd(3, 12)]],
    ["trace", ([a]) => linalg.trace(a!), () => [u([3, 3], 13)]],
  ]);
});

describe("dropout", () => {
  check([
    ["dropout p=0 (identity)", ([a]) => a!.dropout(0), () => [u([2, 3], 1)]],
    ["dropout in eval mode (identity)", ([a]) => a!.dropout(0.5, false), () => [u([2, 3], 2)]],
    [
      "dropout p=0.5 under a fixed seed",
      ([a]) => {
        T.manualSeed(1234);
        return a!.dropout(0.5);
      },
      () => [u([4, 4], 3)],
    ],
  ]);

  test("dropout masks repeat under the same seed and the gradient is mask / (1 - p)", () => {
    T.tidy(() => {
      const x = T.ones([200], { dtype: "float64", requiresGrad: true });
      T.manualSeed(99);
      const y1 = x.dropout(0.25);
      T.manualSeed(99);
      const y2 = x.detach().dropout(0.25);
      assert.deepEqual(y1.toArray(), y2.toArray());
      const kept = y1.toArray().filter((v) => v !== 0);
      assert.ok(kept.length > 100 && kept.length < 200, `kept ${kept.length} of 200`);
      for (const v of kept) assert.ok(Math.abs(v - 1 / 0.75) < 1e-12);
      y1.sum().backward();
      assert.deepEqual(x.grad!.toArray(), y1.toArray());
    });
  });
});

describe("in-place ops inside a graph", () => {
  check([
    ["add_ / mul_ / sub_ / div_ on a non-leaf", ([a, b]) => a!.mul(1).add_(b!, 2).mul_(b!).sub_(0.5).div_(b!.add(3)), () => [u([2, 3], 1), u([2, 3], 2)]],
    ["addcmul_ / addcdiv_", ([a, b, c]) => a!.mul(1).addcmul_(b!, c!, 0.5).addcdiv_(b!, c!.add(3), -2), () => [u([3], 3), u([3], 4), u([3], 5)]],
    ["lerp_", ([a, b]) => a!.mul(1).lerp_(b!, 0.3), () => [u([3], 6), u([3], 7)]],
    ["clamp_ then sqrt_", ([a]) => a!.mul(1).clamp_(0.8, 1.3).sqrt_(), () => [tensor([0.5, 0.9, 1.2, 1.9], { dtype: "float64" })]],
    ["maskedFill_", ([a, m]) => a!.mul(2).maskedFill_(m!, 0), () => [u([2, 2], 8), bool([false, true, true, false], [2, 2])]],
    ["copy_ into a slice", ([a, b]) => { const y = a!.mul(1); y.narrow(0, 0, 1).copy_(b!); return y; }, () => [u([2, 3], 9), u([1, 3], 10)]],
  ]);
});
