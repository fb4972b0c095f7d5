// Bad input never crashes the process: every case below must throw a JS Error whose message names
// the operation and, where it applies, the shapes/dtypes involved. Inputs that once crashed (or
// still crash) the process run in a child process ("crash isolation" at the end), so a regression
// fails one test instead of killing the runner.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as T from "../../src/torch/index.ts";
import { tensor, linalg, TorchError, type Tensor } from "../../src/torch/index.ts";
import { schemaArgTypes } from "../../src/torch/dispatch.ts";

const f64 = (d: T.NestedArray): Tensor => tensor(d, { dtype: "float64" });
const long = (d: number[], shape?: number[]): Tensor => tensor(d, { dtype: "int64", shape });

/** [what, the bad call, the message it must match] */
type Case = [name: string, fn: () => unknown, message: RegExp];

function expectErrors(cases: Case[], errorClass: new (...args: never[]) => Error = TorchError): void {
  for (const [name, fn, message] of cases) {
    test(name, () => {
      T.tidy(() => {
        assert.throws(fn, (err: unknown) => {
          assert.ok(err instanceof errorClass, `expected a ${errorClass.name}, got ${String(err)}`);
          assert.match((err as Error).message, message);
          return true;
        });
      });
    });
  }
}

describe("shape mismatches", () => {
  expectErrors([
    ["add", () => T.ones([2, 3]).add(T.ones([2, 4])), /^add\.Tensor: The size of tensor a \(3\) must match .*float32\[2,3\], float32\[2,4\]/],
    ["mul (in place, broadcast into a smaller tensor)", () => T.ones([3]).mul_(T.ones([2, 3])), /^mul_\.Tensor: .*float32\[3\], float32\[2,3\]/],
    ["matmul", () => T.ones([2, 3]).matmul(T.ones([2, 3])), /^matmul: .*cannot be multiplied \(2x3 and 2x3\).*float32\[2,3\], float32\[2,3\]/],
    ["mm", () => T.ones([2, 3]).mm(T.ones([4, 3])), /^mm: .*\(2x3 and 4x3\)/],
    ["bmm with 2-d input", () => T.ones([2, 3]).bmm(T.ones([3, 3])), /^bmm: .*3D.*float32\[2,3\]/],
    ["linear", () => T.linear(T.ones([2, 3]), T.ones([4, 5])), /^linear: .*float32\[2,3\], float32\[4,5\]/],
    ["cat", () => T.cat([T.ones([2, 3]), T.ones([2, 4])]), /^cat: .*Expected size 3 but got size 4.*\[float32\[2,3\], float32\[2,4\]\]/],
    ["stack", () => T.stack([T.ones([2, 3]), T.ones([2, 4])]), /^stack: .*\[2, 3\] at entry 0 and \[2, 4\] at entry 1/],
    ["einsum operand sizes", () => T.einsum("ij,jk->ik", T.ones([2, 3]), T.ones([4, 2])), /^einsum: .*subscript j has size 4.*float32\[2,3\], float32\[4,2\]/],
    ["einsum operand count", () => T.einsum("ij,jk->ik", T.ones([2, 3])), /^einsum: .*fewer operands/],
    ["conv2d channels", () => T.conv2d(T.ones([1, 2, 3, 3]), T.ones([1, 3, 2, 2])), /^conv2d: .*3 channels, but got 2.*float32\[1,2,3,3\], float32\[1,3,2,2\]/],
    ["conv2d kernel larger than input", () => T.conv2d(T.ones([1, 1, 2, 2]), T.ones([1, 1, 3, 3])), /^conv2d: .*Kernel size can't be greater/],
    ["maxPool2d window larger than input", () => T.maxPool2d(T.ones([1, 1, 2, 2]), 5), /^max_pool2d: .*Output size is too small/],
    ["layerNorm normalizedShape", () => T.layerNorm(T.ones([2, 3]), [4]), /^layerNorm: .*'normalizedShape'.*\[2, 3\].*\[4\]/],
    ["layerNorm weight", () => T.layerNorm(T.ones([2, 3]), [3], T.ones([4])), /^layer_norm: .*weight of shape \[4\]/],
    ["cosineSimilarity", () => T.cosineSimilarity(T.ones([2, 3]), T.ones([2, 4])), /^cosine_similarity: .*float32\[2,3\], float32\[2,4\]/],
    ["mseLoss", () => T.mseLoss(T.ones([2, 3]), T.ones([3, 2])), /^mse_loss: .*float32\[2,3\], float32\[3,2\]/],
    ["crossEntropy batch size", () => T.crossEntropy(T.ones([3, 4]), long([1, 2])), /^cross_entropy_loss: .*batch_size \(3\).*\(2\).*float32\[3,4\], int64\[2\]/],
    ["crossEntropy class weights", () => T.crossEntropy(T.ones([3, 4]), long([1, 2, 0]), { weight: T.ones([3]) }), /^cross_entropy_loss: .*4 classes.*\[3\]/],
    ["solve", () => linalg.solve(f64([[1, 0], [0, 1]]), f64([[1], [2], [3]])), /^linalg_solve: .*\(2x2 and 3x1\)/],
    ["gather index shape", () => T.ones([2, 3]).gather(1, long([0, 1, 0, 0, 1, 1, 0, 0], [4, 2])), /^gather: .*index \[4, 2\].*self \[2, 3\]/],
    ["expand", () => T.ones([2, 3]).expand([4, 3]), /^expand: .*Target sizes: \[4, 3\].*Tensor sizes: \[2, 3\]/],
    ["backward with a gradient of the wrong shape", () => T.ones([2], { requiresGrad: true }).mul(2).backward(T.ones([3])), /^backward: .*got \[3\] but expected shape compatible with \[2\]/],
  ]);
});

describe("wrong dtypes", () => {
  expectErrors([
    ["embedding with float indices", () => T.embedding(T.ones([4, 3]), tensor([1, 2])), /^embedding: .*'indices'.*Long, Int.*Float.*float32\[4,3\], float32\[2\]/],
    ["crossEntropy with float class targets of the wrong shape", () => T.crossEntropy(T.ones([3, 4]), tensor([1, 2, 0])), /^cross_entropy_loss: .*Long but found Float.*float32\[3,4\], float32\[3\]/],
    ["crossEntropy with float targets of another shape", () => T.crossEntropy(T.ones([3, 4]), T.ones([3, 5])), /^cross_entropy_loss: .*float32\[3,4\], float32\[3,5\]/],
    ["crossEntropy with int32 targets", () => T.crossEntropy(T.ones([2, 3]), tensor([0, 1], { dtype: "int32" })), /^cross_entropy_loss: .*Long but found Int/],
    ["matmul int64 × float32", () => T.ones([2, 2], { dtype: "int64" }).matmul(T.ones([2, 2])), /^matmul: .*Long but found Float.*int64\[2,2\], float32\[2,2\]/],
    ["matmul float64 × float32", () => T.ones([2, 2], { dtype: "float64" }).matmul(T.ones([2, 2])), /^matmul: .*Double but found Float/],
    ["indexSelect with float indices", () => T.ones([3, 2]).indexSelect(0, tensor([0])), /^index_select: .*int32 or int64.*float32\[1\]/],
    ["gather with int32 indices", () => T.ones([2, 3]).gather(1, tensor([0, 1], { dtype: "int32", shape: [2, 1] })), /^gather: .*int64 for index/],
    ["index with float indices", () => T.ones([3]).index([tensor([0.5])]), /^index\.Tensor: .*long, byte or bool/],
    ["scatter with a src of another dtype", () => T.zeros([2, 3]).scatter(1, long([0, 1], [2, 1]), T.ones([2, 1], { dtype: "float64" })), /^scatter\.src: .*dtype.*float32\[2,3\].*float64\[2,1\]/],
    ["where with a float condition", () => T.where(T.ones([2]), T.ones([2]), T.ones([2])), /^where\.self: .*boolean/],
    ["maskedFill with a float mask (libtorch silently ignores it)", () => T.ones([2]).maskedFill(tensor([1, 0]), 0), /^maskedFill: argument 'mask' must be a bool tensor/],
    ["maskedFill_ with an int mask", () => T.ones([2]).maskedFill_(long([1, 0]), 0), /^maskedFill_: argument 'mask' must be a bool tensor/],
    ["oneHot of floats", () => T.oneHot(tensor([1]), 3), /^one_hot: .*index tensor/],
    ["linalg on integers", () => linalg.eigh(long([1, 0, 0, 1], [2, 2])), /^eigh: argument 'A' must be a floating-point tensor.*int64\[2, 2\]/],
    ["solve with mixed dtypes", () => linalg.solve(f64([[1, 0], [0, 1]]), tensor([[1], [2]])), /^linalg_solve: .*same dtype.*Double.*Float/],
    ["cholesky in float16", () => linalg.cholesky(T.eye(2).to("float16")), /^linalg_cholesky: .*Half/],
    ["requiresGrad on an integer tensor", () => T.zeros([2], { dtype: "int64", requiresGrad: true }), /^requiresGrad: only floating-point.*int64/],
    ["a gradient of another dtype", () => { const x = T.ones([2], { requiresGrad: true }); x.grad = T.ones([2], { dtype: "float64" }); }, /^grad: argument 'gradient' must be .*float32 tensor of shape \[2\]/],
    ["a gradient of another shape", () => { const x = T.ones([2], { requiresGrad: true }); x.grad = T.ones([3]); }, /^grad: argument 'gradient' must be .*shape \[2\].*float32\[3\]/],
  ]);
});

describe("out-of-range indices", () => {
  expectErrors([
    ["indexSelect past the end", () => T.ones([3, 2]).indexSelect(0, long([0, 3])), /^index_select: index out of range.*float32\[3,2\], 0, int64\[2\]/],
    ["indexSelect negative", () => T.ones([3, 2]).indexSelect(0, long([-1])), /^index_select: index out of range/],
    ["indexSelect huge", () => T.ones([4]).indexSelect(0, long([2 ** 40])), /^index_select: index out of range/],
    ["gather past the end", () => T.ones([2, 3]).gather(1, long([0, 3, 0, 0, 1, 1], [2, 3])), /^gather: index 3 is out of bounds for dimension 1 with size 3/],
    ["gather negative", () => T.ones([2, 3]).gather(1, long([0, -1, 0, 0, 1, 1], [2, 3])), /^gather: index -1 is out of bounds/],
    ["scatter past the end", () => T.zeros([2, 3]).scatter(1, long([5, 0], [2, 1]), 1), /^scatter\.value: index 5 is out of bounds/],
    ["scatterAdd past the end", () => T.zeros([2, 3]).scatterAdd(0, long([5, 0], [1, 2]), T.ones([1, 2])), /^scatter_add: index 5 is out of bounds/],
    ["embedding past the end", () => T.embedding(T.ones([4, 3]), long([1, 4])), /^embedding: index out of range.*float32\[4,3\], int64\[2\]/],
    ["embedding negative", () => T.embedding(T.ones([4, 3]), long([-1])), /^embedding: index out of range/],
    ["index past the end", () => T.ones([3, 2]).index([long([3])]), /^index\.Tensor: index 3 is out of bounds for dimension 0 with size 3/],
    ["index with too many indices", () => T.ones([3, 2]).index([long([0]), long([0]), long([0])]), /^index\.Tensor: too many indices/],
    ["select", () => T.ones([3, 2]).select(0, 3), /^select: argument 'index' must be an integer in \[-3, 2\], got 3/],
    ["select negative", () => T.ones([3, 2]).select(1, -3), /^select: argument 'index' must be an integer in \[-2, 1\], got -3/],
    ["narrow length", () => T.ones([3, 2]).narrow(0, 2, 2), /^narrow: argument 'length' must be an integer in \[0, 1\], got 2/],
    ["narrow start", () => T.ones([3, 2]).narrow(0, 5, 0), /^narrow: argument 'start'.*got 5/],
    ["crossEntropy target past the classes", () => T.crossEntropy(T.ones([3, 4]), long([1, 2, 7])), /^cross_entropy_loss: Target 7 is out of bounds/],
    ["crossEntropy negative target", () => T.crossEntropy(T.ones([3, 4]), long([1, 2, -3])), /^cross_entropy_loss: Target -3 is out of bounds/],
    ["nllLoss target past the classes", () => T.nllLoss(T.ones([3, 4]), long([1, 2, 4])), /^nll_loss_nd: Target 4 is out of bounds/],
    ["oneHot past numClasses", () => T.oneHot(long([0, 5]), 3), /^one_hot: .*smaller than num_classes/],
    ["topk k > size", () => T.ones([3]).topk(5), /^topk: argument 'k' must be an integer in \[0, 3\], got 5/],
    ["multinomial: more samples than classes without replacement", () => T.multinomial(tensor([1, 2]), 3), /^multinomial: cannot sample/],
  ]);
});

describe("bad dims", () => {
  expectErrors([
    ["sum", () => T.ones([3, 2]).sum(2), /^sum: argument 'dim' must be an integer in \[-2, 1\] for a tensor of shape \[3, 2\], got 2/],
    ["sum with repeated dims", () => T.ones([2, 2]).sum([0, 0]), /^sum\.dim_IntList: dim 0 appears multiple times/],
    ["mean fractional dim", () => T.ones([3, 2]).mean(0.5), /^mean: argument 'dim'.*got 0\.5/],
    ["softmax", () => T.ones([3, 2]).softmax(-3), /^softmax: argument 'dim'.*got -3/],
    ["transpose", () => T.ones([3, 2]).transpose(0, 5), /^transpose: argument 'dim'.*got 5/],
    ["permute with a repeated dim", () => T.ones([3, 2]).permute([0, 0]), /^permute: .*duplicate dims/],
    ["permute with too few dims", () => T.ones([3, 2]).permute([0]), /^permute: argument 'dims' must be a permutation of 2 dims, got \[0\]/],
    ["cat", () => T.cat([T.ones([2]), T.ones([2])], 1), /^cat: argument 'dim'.*shape \[2\], got 1/],
    ["squeeze", () => T.ones([3, 2]).squeeze(4), /^squeeze: argument 'dim'/],
    ["unsqueeze", () => T.ones([3, 2]).unsqueeze(4), /^unsqueeze: argument 'dim' must be an integer in \[-3, 2\]/],
    ["flatten", () => T.ones([3, 2]).flatten(2), /^flatten: argument 'dim'/],
    ["slice", () => T.ones([3, 2]).slice(2), /^slice: argument 'dim'/],
    ["flip", () => T.ones([4]).flip(3), /^flip: argument 'dim'/],
    ["normalize", () => T.normalize(T.ones([2, 3]), 2, 5), /^normalize: argument 'dim'/],
    ["cosineSimilarity", () => T.cosineSimilarity(T.ones([2, 3]), T.ones([2, 3]), 4), /^cosine_similarity: Dimension out of range/],
    ["triu of a vector", () => T.ones([4]).triu(), /^triu: Dimension out of range/],
    ["maxDim", () => T.ones([2]).maxDim(1), /^maxDim: argument 'dim'/],
    ["roll with mismatched shifts", () => T.ones([2]).roll([1, 2], 0), /^roll: argument 'shifts'/],
  ]);
});

describe("bad shapes and sizes", () => {
  expectErrors([
    ["reshape to another element count", () => T.ones([2, 3]).reshape([4, 2]), /^reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) to \[4, 2\]/],
    ["reshape with two -1", () => T.ones([2, 3]).reshape([-1, -1]), /^reshape: argument 'shape'.*\[-1, -1\]/],
    ["view of a non-contiguous tensor", () => T.ones([2, 3]).mT.view([6]), /^view: .*Use \.reshape.*float32\[3,2\]/],
    ["zeros with a negative size", () => T.zeros([-2, 3]), /^zeros: argument 'shape' must be an array of non-negative integers, got \[-2, 3\]/],
    ["randn with a negative size", () => T.randn([2, -3]), /^randn: argument 'shape'/],
    ["full with a fractional size", () => T.full([1.5], 2), /^full: argument 'shape'/],
    ["repeat with too few repeats", () => T.ones([2, 3]).repeat([2]), /^repeat: .*can not be smaller/],
    ["repeat with a negative repeat", () => T.ones([2, 3]).repeat([2, -1]), /^repeat: .*negative dimension/],
    ["a tensor too large to address", () => T.zeros([2 ** 62]), /^zeros: Storage size calculation overflowed/],
    ["tensor data that does not fit the shape", () => tensor(new Float32Array(5), { shape: [2, 3] }), /^tensor: argument 'shape' must be a shape with 5 elements, got \[2, 3\]/],
    ["split sizes that do not add up", () => T.ones([4]).split([1, 2]), /^split: argument 'sizes' must be sizes summing to 4/],
    ["chunk into 0 pieces", () => T.ones([4]).chunk(0), /^chunk: argument 'chunks'/],
    ["slice step 0", () => T.ones([4]).slice(0, 0, 4, 0), /^slice: argument 'step'/],
    ["pad wider than a reflected dim", () => T.pad(T.ones([1, 1, 3]), [5, 5], "reflect"), /^pad: .*Padding size should be less than.*\[1, 1, 3\]/],
    ["pad with an odd number of pads", () => T.pad(T.ones([1, 3]), [1]), /^pad: argument 'pads'/],
    ["avgPool2d padding larger than half the kernel", () => T.avgPool2d(T.ones([1, 1, 4, 4]), 2, 2, 3), /^avg_pool2d: pad should be at most half/],
    ["interpolate of a 3-d tensor", () => T.interpolate(T.ones([1, 2, 2]), { size: [2, 2] }), /^interpolate: argument 'input' must be a 4-d tensor.*\[1, 2, 2\]/],
    ["item of a 2-element tensor", () => T.ones([2]).item(), /^item: expected a tensor with one element, got shape \[2\]/],
    ["max of an empty tensor", () => T.zeros([0]).max(), /^max: .*numel\(\) == 0/],
    ["eigh of a non-square matrix", () => linalg.eigh(f64([[1, 2, 3], [4, 5, 6]])), /^eigh: argument 'A' must be a square matrix.*\[2, 3\]/],
    ["multinomial of a 3-d tensor", () => T.multinomial(T.ones([2, 2, 2]), 1), /^multinomial: prob_dist must be 1 or 2 dim/],
  ]);
});

describe("linear algebra failures", () => {
  expectErrors([
    ["eigh with NaN", () => linalg.eigh(f64([[1, NaN], [NaN, 1]])), /^eigh: .*NaN.*float64\[2, 2\]/],
    ["eigh with Inf", () => linalg.eigh(f64([[1, Infinity], [Infinity, 1]])), /^eigh: .*NaN or Inf/],
    ["eigh with NaN in one batch element", () => linalg.eigh(T.stack([T.eye(2, { dtype: "float64" }), f64([[NaN, 0], [0, 1]])])), /^eigh: .*NaN.*\[2, 2, 2\]/],
    ["sqrtmSymmetric with NaN", () => linalg.sqrtmSymmetric(f64([[1, NaN], [NaN, 1]])), /NaN/],
    ["cholesky with NaN", () => linalg.cholesky(f64([[1, NaN], [NaN, 1]])), /^cholesky: .*NaN/],
    ["solve with NaN in A", () => linalg.solve(f64([[1, NaN], [0, 1]]), f64([[1], [1]])), /^solve: .*NaN/],
    ["solve with NaN in B", () => linalg.solve(f64([[1, 0], [0, 1]]), f64([[NaN], [1]])), /^solve: .*NaN.*float64\[2, 1\]/],
    ["inverse with NaN", () => linalg.inverse(f64([[NaN, 0], [0, 1]])), /^inverse: .*NaN/],
    ["cholesky of an indefinite matrix", () => linalg.cholesky(f64([[1, 2], [2, 1]])), /^linalg_cholesky: .*not positive-definite.*order 2/],
    ["cholesky of a batch with one indefinite matrix", () => linalg.cholesky(T.stack([T.eye(2, { dtype: "float64" }), f64([[1, 2], [2, 1]])])), /Batch element 1.*not positive-definite/],
    ["solve with a singular matrix", () => linalg.solve(f64([[1, 2], [2, 4]]), f64([[1], [2]])), /^linalg_solve: .*singular/],
    ["inverse of a singular matrix", () => linalg.inverse(f64([[1, 2], [2, 4]])), /^linalg_inv: .*singular/],
  ]);
});

describe("autograd misuse", () => {
  expectErrors([
    ["backward on a non-scalar without a gradient", () => T.ones([2], { requiresGrad: true }).mul(2).backward(), /^backward: .*needs a scalar output, got shape \[2\]/],
    [
      "backward twice without retainGraph",
      () => {
        const x = T.ones([2], { requiresGrad: true });
        const y = x.mul(x).sum();
        y.backward();
        y.backward();
      },
      /^backward: Trying to backward through the graph a second time.*retain_graph/,
    ],
    ["backward of a tensor that does not require grad", () => T.ones([2]).sum().backward(), /^backward: .*does not require grad/],
    ["backward with more gradients than outputs", () => T.backward([T.ones([1])], [T.ones([1]), T.ones([1])]), /^backward: got 1 outputs but 2 gradients/],
    ["in-place op on a leaf that requires grad", () => T.ones([2], { requiresGrad: true }).add_(1), /^add_\.Scalar: a leaf Variable that requires grad/],
    ["in-place op on an expanded tensor", () => T.ones([3]).expand([2, 3]).add_(1), /^add_\.Scalar: .*more than one element .* single memory location/],
    ["requiresGrad = false on a non-leaf", () => { const y = T.ones([2], { requiresGrad: true }).mul(2); y.requiresGrad = false; }, /^requiresGrad: only leaf tensors.*detach/],
    ["retainGrad on a tensor without grad", () => T.ones([2]).retainGrad(), /^retainGrad: .*requires_grad=False/],
    ["modified saved tensor", () => { const x = T.ones([2], { requiresGrad: true }); const y = x.mul(1).sqrt(); y.sqrt_(); y.sum().backward(); }, /^backward: .*modified by an inplace operation/],
  ]);
});

describe("disposed tensors", () => {
  expectErrors([
    ["method on a disposed tensor", () => { const t = T.ones([2]); t.dispose(); t.add(1); }, /disposed/],
    ["disposed argument", () => { const t = T.ones([2]); t.dispose(); T.ones([2]).mul(t); }, /disposed/],
    ["disposed tensor in a list", () => { const t = T.ones([2]); t.dispose(); T.stack([T.ones([2]), t]); }, /disposed/],
    ["disposed gradient", () => { const t = T.ones([2]); const g = T.ones([2]); g.dispose(); t.backward(g); }, /disposed/],
    ["disposed linalg input", () => { const a = T.eye(2, { dtype: "float64" }); a.dispose(); linalg.cholesky(a); }, /disposed/],
  ]);
});

describe("loosely typed calls (wrong argument types cast through `as never`)", () => {
  expectErrors([
    ["add(string)", () => T.ones([2]).add("x" as never), /^add\.Tensor: expected a tensor for other.*"x"/],
    ["add(null)", () => T.ones([2]).add(null as never), /^add\.Tensor: expected a tensor for other/],
    ["add({}) is described as a non-tensor", () => T.ones([2]).add({} as never), /^add\.Tensor: expected a tensor for other \(inputs: float32\[2\], <not a tensor>/],
    ["matmul(number)", () => T.ones([2]).matmul(3 as never), /^matmul: expected a tensor for other/],
    ["cat of numbers", () => T.cat([1, 2] as never), /^cat: argument 'tensors' must be a non-empty array of tensors, got \[1, 2\]/],
    ["cat of a tensor and a number", () => T.cat([T.ones([2]), 2] as never), /^cat: argument 'tensors'/],
    ["cat of nothing", () => T.cat([]), /^cat: argument 'tensors'/],
    ["stack of a non-array", () => T.stack("ab" as never), /^stack: argument 'tensors'/],
    ["reshape(string)", () => T.ones([2]).reshape("2" as never), /^reshape: argument 'shape'.*"2"/],
    ["permute(null)", () => T.ones([2]).permute(null as never), /^permute: argument 'dims'.*null/],
    ["zeros(string)", () => T.zeros("3" as never), /^zeros: argument 'shape'/],
    ["sum(string dim)", () => T.ones([2]).sum("0" as never), /^sum: argument 'dim'/],
    ["slice with a fractional start", () => T.ones([4]).slice(0, 0.5), /^slice\.Tensor: argument 'start': expected an integer/],
    ["clamp(string)", () => T.zeros([2]).clamp("a" as never), /^clamp: argument 'min': expected a number/],
    ["gelu with an unknown approximation", () => T.zeros([2]).gelu("fast" as never), /^gelu: argument 'approximate'/],
    ["conv2d with a string weight", () => T.conv2d(T.ones([1, 1, 3, 3]), "w" as never), /^conv2d: expected a tensor for weight/],
    ["conv2d stride 0", () => T.conv2d(T.ones([1, 1, 3, 3]), T.ones([1, 1, 2, 2]), null, { stride: 0 }), /^conv2d: argument 'stride'/],
    ["maxPool2d negative kernel", () => T.maxPool2d(T.ones([1, 1, 4, 4]), [2, -1] as never), /^maxPool2d: argument 'kernelSize'/],
    ["gather with an array index", () => T.ones([2]).gather(0, [0] as never), /^gather: expected a tensor for index/],
    ["where with a string branch", () => T.where(T.ones([2]) as never, "a" as never, 1), /^where\.ScalarOther: expected a tensor/],
    ["einsum with a number equation", () => T.einsum(3 as never, T.ones([2])), /^einsum: argument 'equation'/],
    ["mseLoss with an unknown reduction", () => T.mseLoss(T.ones([2]), T.ones([2]), "avg" as never), /^mseLoss: argument 'reduction'/],
    ["interpolate with an unknown mode", () => T.interpolate(T.ones([1, 1, 2, 2]), { size: [2, 2], mode: "cubic" as never }), /^interpolate: argument 'mode'/],
    ["interpolate with size 0", () => T.interpolate(T.ones([1, 1, 2, 2]), { size: [0, 2] }), /^interpolate: argument 'size'/],
    ["zeros on an unknown device", () => T.zeros([2], { device: "tpu" as never }), /argument 'device'.*"tpu"/],
    ["toDevice(number)", () => T.zeros([2]).toDevice(3 as never), /^toDevice: argument 'device'/],
    ["manualSeed(-1)", () => T.manualSeed(-1), /^manualSeed: argument 'seed'/],
    ["setRngState with a float tensor", () => T.setRngState(T.ones([3])), /^setRngState: argument 'state' must be a uint8 tensor/],
    ["setRngState with a short state", () => T.setRngState(T.zeros([3], { dtype: "uint8" })), /^setRngState: .*RNG state size/],
    ["sharedTypedArray of a non-contiguous tensor", () => T.ones([2, 3]).mT.sharedTypedArray(), /^sharedTypedArray: .*contiguous/],
    ["dropout p = 2", () => T.ones([2]).dropout(2), /^dropout: argument 'p'/],
    ["bernoulli p outside [0, 1]", () => T.bernoulli(tensor([2, -1])), /^bernoulli: /],
    ["multinomial with negative weights", () => T.multinomial(tensor([-1, 2]), 1), /^multinomial: .*element < 0/],
    ["multinomial with all-zero weights", () => T.multinomial(tensor([0, 0]), 1), /^multinomial: .*sum of probabilities <= 0/],
    ["integer division by zero", () => T.ones([2], { dtype: "int64" }).div(0, "floor"), /^div\.Scalar_mode: ZeroDivisionError/],
    ["op() with an unknown operator", () => T.op("aten::does_not_exist"), /^does_not_exist: unknown operator aten::does_not_exist/],
    ["op() with a missing argument", () => T.op("aten::add.Tensor", T.ones([1])), /^add\.Tensor: missing argument 'other'/],
    ["op() with too many arguments", () => T.op("aten::neg", T.ones([1]), 1, 2), /^neg: too many arguments: 3 given, schema takes 1/],
    ["op() with a number for a tensor", () => T.op("aten::neg", 3), /^neg: expected a tensor for self/],
    ["op() with an unknown dtype code", () => T.op("aten::to.dtype", T.ones([2]), 99, false, false), /^to\.dtype: argument 1 must be the ScalarType code of a gcrl dtype, got 99/],
  ]);

  expectErrors(
    [
      ["tensor(string)", () => tensor("abc" as never), /^tensor\(\): data must be numbers or booleans.*"abc"/],
      ["tensor(object)", () => tensor({ a: 1 } as never), /^tensor\(\): data must be numbers or booleans/],
      ["tensor with a string element", () => tensor([[1, "a"]] as never), /^tensor\(\): data must be numbers or booleans.*"a"/],
      ["tensor with a null element", () => tensor([1, null] as never), /^tensor\(\): data must be numbers or booleans.*null/],
      ["ragged nested array", () => tensor([[1, 2], [3]]), /^tensor\(\): ragged nested array/],
      ["unknown dtype", () => T.zeros([2], { dtype: "float128" as never }), /unknown dtype 'float128'/],
      ["Uint16Array without a dtype", () => tensor(new Uint16Array([1])), /Uint16Array/],
    ],
    TypeError,
  );
});

// ---- crash isolation ---------------------------------------------------------------------------------
//
// Each snippet runs in its own `node` process. It must end with a thrown JS Error (printed as
// "caught <name>: <message>") and a normal exit; a segfault or abort shows up as a signal or exit
// code 134/139 and fails only that test.

const root = fileURLToPath(new URL("../../", import.meta.url));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runIsolated(body: string): Promise<ChildResult> {
  const source = [
    `import * as T from ${JSON.stringify(`${root}src/torch/index.ts`)};`,
    `import { native } from ${JSON.stringify(`${root}src/torch/native.ts`)};`,
    `void T; void native;`,
    `try { ${body}; console.log("no error"); } catch (e) { console.log("caught " + e.name + ": " + e.message); }`,
  ].join("\n");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function assertCleanError(body: string, message: RegExp): Promise<void> {
  const r = await runIsolated(body);
  assert.ok(
    r.signal === null && r.code === 0,
    `the process crashed (exit code ${r.code}, signal ${r.signal}); stderr: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
  );
  assert.match(r.stdout, /^caught /m, `expected a thrown error, got: ${r.stdout.trim()}`);
  assert.match(r.stdout, message);
}

test("schemaArgTypes finds each argument's type (the dtype-code guard relies on it)", () => {
  assert.deepEqual(schemaArgTypes("aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor"), ["Tensor", "ScalarType?"]);
  assert.deepEqual(schemaArgTypes(T.opSchema("aten::split.Tensor")), ["Tensor(a -> *)", "int", "int"]);
  assert.deepEqual(schemaArgTypes(T.opSchema("aten::to.dtype")), ["Tensor(a)", "ScalarType", "bool", "bool", "MemoryFormat?"]);
  assert.deepEqual(schemaArgTypes(T.opSchema("aten::gelu")), ["Tensor", "str"]);
});

describe("crash isolation (child processes)", { concurrency: true }, () => {
  // Fixed: libtorch indexed its dtype table with the code unchecked (segfault); now refused in dispatch.ts.
  test("op() with a negative dtype code", () =>
    assertCleanError(`T.op("aten::to.dtype", T.ones([2]), -1, false, false)`, /caught TorchError: to\.dtype: argument 1 must be the ScalarType code/));
  test("op() with a negative dtype code for a reduction", () =>
    assertCleanError(`T.op("aten::sum", T.ones([2]), -1)`, /caught TorchError: sum: argument 1 must be the ScalarType code/));

  // Fixed: the raw binding's fromBytes checks the dtype code (it used to std::terminate).
  test("raw binding: fromBytes with an invalid dtype code", () =>
    assertCleanError(`native.fromBytes(new Uint8Array(4), [1], -1)`, /caught .*unsupported dtype code -1/));
  // Fixed: the public op() refuses private operators (aten::_local_scalar_dense on an empty tensor segfaults inside libtorch).
  test("op() on a private ATen op without input checks", () =>
    assertCleanError(`T.op("aten::_local_scalar_dense", T.zeros([0]))`, /caught TorchError: op: expected a public ATen operator name/));
});
