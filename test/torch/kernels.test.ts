// The fast kernels of native/kernels/kernels.cc against the straightforward implementation:
// gcrl::linear (chunked GEMMs) vs aten::linear on random inputs of several shapes (row counts that
// are not multiples of the chunk, batch 1, non-contiguous inputs, no bias), its float64 gradients
// against finite differences, its bf16 mode against float32, and a whole GCRL training loss with
// its gradients on the fast path vs the reference path (issue 7: loss within 1e-5, every gradient
// within 1e-4, relative). gcrl::linear's float32 GEMMs run on each route (OpenBLAS chunks, oneDNN's
// dnnl_sgemm: forced with setFp32Gemm, falling back to OpenBLAS where oneDNN is absent) and on the
// per-shape choice, each held to aten::linear within 1e-5 (float32 rounding: the routes sum in
// different orders).
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { Tensor, tidy, linearChunked, attentionFused, attentionVariant, resolveCompute, blasThreads, setBlasThreads, setFp32Gemm, fp32GemmReport, fp32Mm, type Fp32GemmMode, type KernelPath, type MatmulPrecision } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { multiHeadAttention } from "../../src/model/attention.ts";
import { hybridLoss } from "../../src/train/objectives.ts";
import { trainingPrecision } from "../../src/train/trainer.ts";
import { gradcheck, uniform } from "../helpers/gradcheck.ts";

/** max |a − b| / max |b|: the relative difference of two tensors of the same shape. */
function relDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-30));
}

/** Output and input/weight/bias gradients of y = f(x, w, b) under the weighting r. */
function withGrads(f: (x: Tensor, w: Tensor, b: Tensor | null) => Tensor, x0: Tensor, w0: Tensor, b0: Tensor | null, r: Tensor): Tensor[] {
  const x = x0.detach().clone().requiresGrad_();
  const w = w0.detach().clone().requiresGrad_();
  const b = b0 === null ? null : b0.detach().clone().requiresGrad_();
  const y = f(x, w, b);
  y.mul(r).sum().backward();
  return [y.detach(), x.grad!, w.grad!, ...(b === null ? [] : [b.grad!])];
}

const aten = (x: Tensor, w: Tensor, b: Tensor | null): Tensor => T.op("aten::linear", x, w, b) as Tensor;

// [name, x shape, in, out, chunk rows, bias, transpose x (non-contiguous)]
const CASES: [string, number[], number, number, number, boolean, boolean][] = [
  ["batch 1, one row", [1, 5], 5, 3, 4096, true, false],
  ["rows not a multiple of the chunk (3 × 7 rows, chunks of 4)", [3, 7, 5], 5, 6, 4, true, false],
  ["chunk of 1 row", [2, 3, 4], 4, 2, 1, true, false],
  ["no bias", [9, 8], 8, 5, 4, false, false],
  ["non-contiguous x (transposed grid)", [2, 3, 4, 6], 6, 7, 5, true, true],
  ["two full chunks and a partial one (4096-row chunks)", [9000, 16], 16, 24, 4096, true, false],
];

/** Runs fn with OpenBLAS on one thread (gcrl::linear's parallel chunks) when parallel, restoring it. */
function blasMode<T>(parallel: boolean, fn: () => T): T {
  const before = blasThreads();
  if (!parallel || before === null) return fn();
  setBlasThreads(1);
  try {
    return fn();
  } finally {
    setBlasThreads(before);
  }
}

/** Runs fn with gcrl::linear's float32 GEMMs in `mode`, then back to the mode before. */
function gemmMode<T>(mode: Fp32GemmMode, fn: () => T): T {
  const before = fp32GemmReport().mode;
  setFp32Gemm(mode);
  try {
    return fn();
  } finally {
    setFp32Gemm(before);
  }
}

/** The mode a process starts in: GCRL_FP32_GEMM, default onednn (a fixed route: bit-exact resume). */
const INITIAL_GEMM_MODE = process.env.GCRL_FP32_GEMM || "onednn";

const ONEDNN = fp32GemmReport();
const ROUTE_NOTE = (mode: Fp32GemmMode): string => (mode === "onednn" && !ONEDNN.onednnAvailable ? ` (oneDNN unavailable here, so OpenBLAS: ${ONEDNN.onednnReason})` : "");

for (const [name, shape, inF, outF, rows, bias, transposed] of CASES) for (const parallel of [false, true]) for (const mode of ["openblas", "onednn"] as const) {
  test(`gcrl::linear equals aten::linear in float32: ${name}${parallel ? ", chunks in parallel (OpenBLAS on 1 thread)" : ""}, GEMMs on ${mode}${ROUTE_NOTE(mode)}`, { skip: parallel && blasThreads() === null ? "the BLAS is not OpenBLAS" : false }, () => {
    gemmMode(mode, () => blasMode(parallel, () => tidy(() => {
      T.manualSeed(3);
      let x = T.randn(shape);
      if (transposed) x = x.transpose(1, 2);
      const w = T.randn([outF, inF]).mul(0.3);
      const b = bias ? T.randn([outF]) : null;
      const r = T.randn([...x.shape.slice(0, -1), outF]);
      const fast = withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { chunkRows: rows }), x, w, b, r);
      const ref = withGrads(aten, x, w, b, r);
      assert.deepEqual(fast[0]!.shape, ref[0]!.shape);
      const what = ["output", "grad x", "grad weight", "grad bias"];
      for (let i = 0; i < ref.length; i++) {
        const d = relDiff(fast[i]!, ref[i]!);
        assert.ok(d < 1e-5, `${what[i]}: relative difference ${d}`);
      }
    })));
  });
}

test("gcrl::linear in float32 on each route: an expanded output gradient (y.sum()) and a transposed weight view equal aten::linear", () => {
  for (const mode of ["openblas", "onednn", "auto"] as const) gemmMode(mode, () => tidy(() => {
    T.manualSeed(5);
    const x0 = T.randn([37, 6]);
    const w0 = T.randn([6, 11]).mul(0.3); // W = w0ᵀ: (11, 6) with columns contiguous
    const b0 = T.randn([11]);
    const grads = (f: (x: Tensor, w: Tensor, b: Tensor) => Tensor): Tensor[] => {
      const x = x0.clone().requiresGrad_();
      const wt = w0.clone().requiresGrad_();
      const b = b0.clone().requiresGrad_();
      const y = f(x, wt.transpose(0, 1), b);
      y.sum().backward(); // the output gradient is a stride-0 expand of one element
      return [y.detach(), x.grad!, wt.grad!, b.grad!];
    };
    const fast = grads((x, w, b) => linearChunked(x, w, b, { chunkRows: 8 }));
    const ref = grads(aten);
    for (let i = 0; i < ref.length; i++) assert.ok(relDiff(fast[i]!, ref[i]!) < 1e-5, `${mode}: tensor ${i}: ${relDiff(fast[i]!, ref[i]!)}`);
  }));
});

test("gcrl::linear's per-shape choice: the first float32 call of a shape measures both routes of each GEMM and reports the choice", () => {
  gemmMode("auto", () => tidy(() => {
    T.manualSeed(6);
    const x = T.randn([301, 13]).requiresGrad_();
    const w = T.randn([17, 13]).requiresGrad_();
    const b = T.randn([17]).requiresGrad_();
    const y = linearChunked(x, w, b);
    y.mul(T.randn([301, 17])).sum().backward();
    const again = linearChunked(x.detach(), w.detach(), b.detach()); // the cached choice, no new entry
    assert.ok(relDiff(again, y.detach()) < 1e-5);
    const report = fp32GemmReport();
    assert.equal(report.mode, "auto");
    const mine = report.choices.filter((c) => c.rows === 301 && c.in === 13 && c.out === 17);
    if (!report.onednnAvailable) {
      assert.ok(report.onednnReason.length > 0, "a reason when oneDNN is unavailable");
      assert.equal(mine.length, 0, "nothing to choose without oneDNN: every GEMM takes OpenBLAS");
      return;
    }
    assert.deepEqual(mine.map((c) => c.gemm).sort(), ["forward", "input_grad", "weight_grad"]);
    for (const c of mine) {
      assert.ok(c.route === "openblas" || c.route === "onednn");
      assert.ok(c.openblasSeconds > 0 && c.onednnSeconds > 0 && Number.isFinite(c.openblasSeconds + c.onednnSeconds));
      assert.equal(c.route, c.onednnSeconds < c.openblasSeconds ? "onednn" : "openblas", "the faster route");
      assert.equal(c.threads, T.getNumThreads());
    }
  }));
});

test("fp32Mm: both routes equal a·b in float32; setFp32Gemm and fp32Mm refuse unknown names", () => {
  tidy(() => {
    T.manualSeed(7);
    const a = T.randn([33, 20]);
    const b = T.randn([20, 9]);
    const ref = a.matmul(b);
    assert.ok(relDiff(fp32Mm(a, b, "openblas"), ref) < 1e-6);
    if (ONEDNN.onednnAvailable) assert.ok(relDiff(fp32Mm(a, b, "onednn"), ref) < 1e-5);
    else assert.throws(() => fp32Mm(a, b, "onednn"), /oneDNN is unavailable/);
    assert.throws(() => setFp32Gemm("mkl" as Fp32GemmMode), /setFp32Gemm.*mode/s);
    assert.throws(() => fp32Mm(a, b, "mkl" as "onednn"), /fp32Mm.*route/s);
    assert.equal(fp32GemmReport().mode, INITIAL_GEMM_MODE);
  });
});

test("GCRL_FP32_GEMM sets the initial mode; a bad value fails gcrl::linear's float32 calls with a message naming it", () => {
  const run = (value: string | undefined) => {
    const env: NodeJS.ProcessEnv = { ...process.env, GCRL_FP32_GEMM: value };
    if (value === undefined) delete env.GCRL_FP32_GEMM;
    return spawnSync(process.execPath, ["--import", "tsx", "-e", `import * as T from "./src/torch/index.ts"; const y = T.linearChunked(T.ones([3, 2]), T.ones([4, 2]), null); console.log(T.fp32GemmReport().mode, y.sum().item());`], {
      encoding: "utf8",
      env,
      timeout: 120_000,
    });
  };
  const unset = run(undefined);
  assert.equal(unset.status, 0, unset.stderr);
  assert.match(unset.stdout, /^onednn 24$/m, "the default is the fixed onednn route (openblas where dnnl_sgemm is absent)");
  const ok = run("openblas");
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^openblas 24$/m);
  const bad = run("fastest");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /GCRL_FP32_GEMM must be "auto", "openblas" or "onednn", got "fastest"/);
});

test("gcrl::linear gradients match finite differences in float64 (chunks of 2 rows over 5)", () => {
  tidy(() => {
    const r = gradcheck(([x, w, b]) => linearChunked(x!, w!, b!, { chunkRows: 2 }), [uniform([5, 3], 1), uniform([4, 3], 2), uniform([4], 3)]);
    assert.ok(r.checked === 15 + 12 + 4);
    assert.ok(r.maxRelError < 1e-6, `max rel error ${r.maxRelError}`);
  });
});

// bf16 tolerances. bfloat16 keeps 8 significant bits: one rounding to nearest is off by at most
// 2^-8 relative (≈ 3.9e-3, the unit roundoff). A bf16 mixed-precision product rounds its operands (2 roundings of ≤ 2^-9 each per
// term; over sums of 64 terms they partly cancel) and its result (one more): 2e-2 of the largest
// value is a generous bound, and 1e-5 (float32 rounding) is not met.
const BF16_ROUND = 2 ** -8; // one rounding, relative to the value (so also to the tensor's largest value)

test("gcrl::linear in bf16 (float32 input) is float32's result to bf16 precision: y bfloat16, gradients float32", () => {
  tidy(() => {
    T.manualSeed(4);
    const x = T.randn([37, 64]);
    const w = T.randn([48, 64]).mul(0.125);
    const b = T.randn([48]);
    const r = T.randn([37, 48]);
    const fast = withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { chunkRows: 16, bf16: true }), x, w, b, r);
    const ref = withGrads(aten, x, w, b, r);
    assert.deepEqual(fast.map((t) => t.dtype), ["bfloat16", "float32", "float32", "float32"], "y bf16; dx in x's dtype; master gradients float32");
    for (let i = 0; i < ref.length; i++) {
      const d = relDiff(fast[i]!.to("float32"), ref[i]!);
      // The bias gradient is a float32 sum of the incoming gradient, itself rounded to bf16 once
      // (y is bf16, so its gradient is): within one rounding.
      if (i === 3) assert.ok(d < BF16_ROUND, `grad bias: relative difference ${d}`);
      else assert.ok(d < 2e-2 && d > 1e-5, `tensor ${i}: relative difference ${d}`);
    }
  });
});

test("gcrl::linear in bf16: dW, and dx of a float32 x, are float32 sums of the bf16 operands, unrounded where oneDNN's bf16 GEMM runs (CPUs with bf16), else within one bf16 rounding", () => {
  tidy(() => {
    T.manualSeed(8);
    const x = T.randn([300, 40]);
    const w = T.randn([24, 40]).mul(0.15);
    const b = T.randn([24]);
    const r = T.randn([300, 24]);
    const [, dx, dw] = withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { chunkRows: 64, bf16: true }), x, w, b, r);
    // y is bf16, so its gradient is r rounded to bf16; the operands are the bf16 copies of x and W.
    const g = r.to("bfloat16").to("float64");
    const wantDw = g.transpose(0, 1).matmul(x.to("bfloat16").to("float64"));
    const wantDx = g.matmul(w.to("bfloat16").to("float64"));
    const tolerance = T.bf16Supported() ? 1e-5 : BF16_ROUND; // float32 summation only, or one more bf16 rounding
    for (const [what, got, want] of [["dW", dw!, wantDw], ["dx", dx!, wantDx]] as const) {
      assert.equal(got.dtype, "float32");
      const d = relDiff(got.to("float64"), want);
      assert.ok(d < tolerance, `${what}: relative difference ${d} to the float64 product of the bf16 operands (tolerance ${tolerance})`);
    }
  });
});

test("gcrl::linear in bf16: the bias gradient is the float32 column sum of the bf16 output gradient (several row blocks, 520 wide), the same bits on 1 and 2 threads", () => {
  tidy(() => {
    T.manualSeed(9);
    const x = T.randn([1000, 16]);
    const w = T.randn([520, 16]).mul(0.2);
    const b = T.randn([520]);
    const r = T.randn([1000, 520]);
    const want = r.to("bfloat16").to("float64").sum([0]);
    const threads = T.getNumThreads();
    const db: Tensor[] = [];
    try {
      for (const n of [1, 2]) {
        T.setNumThreads(n);
        db.push(withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { bf16: true }), x, w, b, r)[3]!);
      }
    } finally {
      T.setNumThreads(threads);
    }
    assert.equal(db[0]!.dtype, "float32");
    const d = tidy(() => db[0]!.to("float64").sub(want).abs().max().item() / want.abs().max().item());
    assert.ok(d < 1e-5, `bias gradient vs the float64 sum: ${d}`);
    assert.equal(relDiff(db[0]!, db[1]!), 0, "1 vs 2 threads");
  });
});

test("gcrl::linear in bf16 takes a bfloat16 input as it is (the MLP's second Linear): same result as its float32 value, dx bfloat16", () => {
  tidy(() => {
    T.manualSeed(5);
    const x16 = T.randn([3, 11, 40]).to("bfloat16"); // 33 rows over chunks of 16: chunks do not matter in bf16
    const w = T.randn([24, 40]).mul(0.15);
    const b = T.randn([24]);
    const r = T.randn([3, 11, 24]);
    const from16 = withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { chunkRows: 16, bf16: true }), x16, w, b, r);
    const from32 = withGrads((xx, ww, bb) => linearChunked(xx, ww, bb, { bf16: true }), x16.to("float32"), w, b, r);
    assert.equal(from16[0]!.dtype, "bfloat16");
    assert.equal(from16[1]!.dtype, "bfloat16", "dx in x's dtype");
    // x16 is exactly representable in bf16, so casting it to float32 and back changes nothing: y, dW
    // and db are the same numbers. dx is not: a float32 x gets its dx in float32, unrounded (from
    // oneDNN's float32 accumulator where the CPU has its bf16 GEMM), a bf16 x the product rounded
    // to bf16, so the two differ by at most one rounding.
    assert.equal(from32[1]!.dtype, "float32");
    for (const i of [0, 2, 3]) assert.equal(relDiff(from16[i]!.to("float32"), from32[i]!.to("float32")), 0, `tensor ${i}`);
    const dx = relDiff(from16[1]!.to("float32"), from32[1]!);
    assert.ok(dx <= BF16_ROUND, `dx: bf16 x vs float32 x, relative difference ${dx}`);
    // And against float32 aten::linear on the same values, within bf16 precision.
    const ref = withGrads(aten, x16.to("float32"), w, b, r);
    for (let i = 0; i < 4; i++) {
      const d = relDiff(from16[i]!.to("float32"), ref[i]!);
      assert.ok(d < 2e-2, `tensor ${i} vs float32: relative difference ${d}`);
    }
  });
});

test("linearKernel under precision bf16: the fast and reference kernels (aten::linear on bf16 casts, as autocast) agree to bf16 precision", () => {
  tidy(() => {
    T.manualSeed(6);
    const x = T.randn([5, 7, 32]);
    const w = T.randn([16, 32]).mul(0.2);
    const b = T.randn([16]);
    const r = T.randn([5, 7, 16]);
    const run = (kernels: KernelPath): Tensor[] => withGrads((xx, ww, bb) => T.linearKernel(xx, ww, bb, resolveCompute({ precision: "bf16", kernels })), x, w, b, r);
    const [fast, ref] = [run("fast"), run("reference")];
    assert.equal(fast[0]!.dtype, "bfloat16");
    assert.equal(ref[0]!.dtype, "bfloat16");
    for (let i = 0; i < 4; i++) {
      assert.equal(fast[i]!.dtype, ref[i]!.dtype, `tensor ${i}: same dtype on both kernels`);
      const d = relDiff(fast[i]!.to("float32"), ref[i]!.to("float32"));
      assert.ok(d < 2e-2, `tensor ${i}: relative difference ${d}`);
    }
    // float64 models ignore the bf16 precision.
    const y64 = T.linearKernel(x.to("float64"), w.to("float64"), b.to("float64"), resolveCompute({ precision: "bf16" }));
    assert.equal(y64.dtype, "float64");
  });
});

// gcrl::attention on a bfloat16 qkv computes in float32 inside: its result is the float32 kernel's
// on the same (bf16-valued) qkv, rounded once to bf16; its gradient is the float32 kernel's for the
// bf16-rounded dy, rounded once. Checked per element against the float32 kernel and against the
// autocast-style reference path (bf16 matmuls, float32 softmax), which rounds more often.
for (const [name, b, n1, n2, heads, dh, causal] of [
  ["axial row shape (28 long, 4 heads of 32), causal", 2, 3, 28, 4, 32, true],
  ["non-causal, 3 heads of 5, length 7", 2, 4, 7, 3, 5, false],
] as const) {
  test(`gcrl::attention in bf16 = the float32 kernel on the same values to one bf16 rounding: ${name}`, () => {
    tidy(() => {
      T.manualSeed(8);
      const d = heads * dh;
      const qkv16 = T.randn([b, n1, n2, 3 * d]).to("bfloat16");
      const r16 = T.randn([b, n1, n2, d]).to("bfloat16");
      const run = (qkv0: Tensor, r: Tensor, compute: Parameters<typeof resolveCompute>[0]): Tensor[] => {
        const qkv = qkv0.detach().clone().requiresGrad_();
        const y = multiHeadAttention(qkv, heads, { causal, dropout: 0, training: true, compute: resolveCompute(compute) });
        y.backward(r);
        return [y.detach(), qkv.grad!];
      };
      const [y16, g16] = run(qkv16, r16, { precision: "bf16" });
      assert.equal(y16!.dtype, "bfloat16");
      assert.equal(g16!.dtype, "bfloat16");
      const [y32, g32] = run(qkv16.to("float32"), r16.to("float32"), {});
      // Per element: |bf16(v) − v| ≤ 2^-8 |v| (one rounding to nearest), plus float32 noise; in fact
      // exactly ATen's rounding of the float32 kernel's result (same float32 arithmetic inside, and
      // the kernel's vectorized float → bf16 conversion rounds as c10::BFloat16 does).
      for (const [what, a, ref] of [["output", y16!, y32!], ["grad qkv", g16!, g32!]] as const) {
        const err = tidy(() => a.to("float32").sub(ref).abs().sub(ref.abs().mul(BF16_ROUND)).max().item());
        assert.ok(err < 1e-6, `${what}: exceeds one bf16 rounding by ${err}`);
        assert.equal(relDiff(a.to("float32"), ref.to("bfloat16").to("float32")), 0, `${what}: = the float32 kernel's result rounded to bf16`);
      }
      const [yRef, gRef] = run(qkv16, r16, { precision: "bf16", kernels: "reference" });
      assert.equal(yRef!.dtype, "bfloat16");
      for (const [what, a, ref] of [["output", yRef!, y32!], ["grad qkv", gRef!, g32!]] as const) {
        const dd = relDiff(a.to("float32"), ref);
        assert.ok(dd < 2e-2, `reference path in bf16, ${what}: relative difference ${dd}`);
      }
    });
  });
}

// [name, B, n1, n2, heads, dh, causal, scale of qkv]. The kernel pads L and dh to its 16-wide tiles:
// lengths and head sizes on both sides of a tile edge, and near-one-hot softmax rows (scale 8).
const ATTENTION_CASES: [string, number, number, number, number, number, boolean, number?][] = [
  ["batch 1, one sequence, causal", 1, 1, 5, 1, 4, true],
  ["sequence of length 1", 2, 3, 1, 2, 3, true],
  ["non-causal, 3 heads of 5", 2, 4, 7, 3, 5, false],
  ["axial row shape (28 long, 4 heads of 32), causal", 2, 28, 28, 4, 32, true],
  ["axial column shape, non-causal", 3, 28, 28, 4, 32, false],
  ["length 40 over three tiles, heads of 20, causal", 2, 3, 40, 2, 20, true],
  ["length 16 (one full tile), heads of 16, non-causal", 1, 2, 16, 3, 16, false],
  ["dense raster length 100, heads of 8, causal", 1, 1, 100, 4, 8, true],
  ["large scores (near one-hot softmax rows)", 2, 5, 28, 4, 32, true, 8],
];

for (const [name, b, n1, n2, heads, dh, causal, scale = 1] of ATTENTION_CASES) {
  test(`gcrl::attention equals the reference attention in float32: ${name}`, () => {
    tidy(() => {
      T.manualSeed(7);
      const d = heads * dh;
      const qkv0 = T.randn([b, n1, n2, 3 * d]).mul(scale);
      const r = T.randn([b, n1, n2, d]);
      const run = (kernels: KernelPath): Tensor[] => {
        const qkv = qkv0.detach().clone().requiresGrad_();
        const y = multiHeadAttention(qkv, heads, { causal, dropout: 0, training: true, compute: resolveCompute({ kernels }) });
        y.mul(r).sum().backward();
        return [y.detach(), qkv.grad!];
      };
      const [yRef, gRef] = run("reference");
      const [yFast, gFast] = run("fast");
      assert.deepEqual(yFast!.shape, [b, n1, n2, d]);
      const dy = relDiff(yFast!, yRef!);
      const dg = relDiff(gFast!, gRef!);
      assert.ok(dy < 1e-5, `output: relative difference ${dy}`);
      assert.ok(dg < 1e-4, `grad qkv: relative difference ${dg}`);
    });
  });
}

// On a CPU with AVX-512 the kernel runs 64-byte register tiles (its L and dh padded to 32 float32
// columns instead of 16); GCRL_AVX512=0 switches back to the 32-byte tiles in the same
// process. Both must give the same bits: output and qkv gradient, float32, bfloat16 and float64,
// every shape of ATTENTION_CASES (tile edges of both widths included).
test("gcrl::attention: the AVX-512 and AVX2 variants give the same bits", { skip: attentionVariant() !== "avx512" && "this CPU has no AVX-512 (only one variant runs here)" }, () => {
  const run = (avx512: boolean, qkv0: Tensor, r: Tensor, heads: number, causal: boolean): Tensor[] => {
    const saved = process.env.GCRL_AVX512;
    if (avx512) delete process.env.GCRL_AVX512;
    else process.env.GCRL_AVX512 = "0";
    try {
      assert.equal(attentionVariant(), avx512 ? "avx512" : "avx2");
      const qkv = qkv0.detach().clone().requiresGrad_();
      const y = attentionFused(qkv, heads, causal);
      y.backward(r);
      return [y.detach(), qkv.grad!];
    } finally {
      if (saved === undefined) delete process.env.GCRL_AVX512;
      else process.env.GCRL_AVX512 = saved;
    }
  };
  for (const [name, b, n1, n2, heads, dh, causal, scale = 1] of ATTENTION_CASES) {
    for (const dtype of ["float32", "bfloat16", "float64"] as const) {
      tidy(() => {
        T.manualSeed(21);
        const d = heads * dh;
        const qkv = T.randn([b * n1, n2, 3 * d]).mul(scale).to(dtype);
        const r = T.randn([b * n1, n2, d]).to(dtype);
        const [y64, g64] = run(true, qkv, r, heads, causal);
        const [y32, g32] = run(false, qkv, r, heads, causal);
        assert.equal(relDiff(y64!.to("float64"), y32!.to("float64")), 0, `${name}, ${dtype}: output`);
        assert.equal(relDiff(g64!.to("float64"), g32!.to("float64")), 0, `${name}, ${dtype}: grad qkv`);
      });
    }
  }
});

test("gcrl::attention gradients match finite differences in float64 (causal and not)", () => {
  tidy(() => {
    for (const causal of [true, false]) {
      const r = gradcheck(([qkv]) => attentionFused(qkv!, 2, causal), [uniform([2, 4, 3 * 4], 11)]);
      assert.equal(r.checked, 2 * 4 * 12);
      assert.ok(r.maxRelError < 1e-6, `causal ${causal}: max rel error ${r.maxRelError}`);
    }
    // Over a tile edge: L = 19 (padded to 32), heads of 3 (padded to 16).
    const r = gradcheck(([qkv]) => attentionFused(qkv!, 2, true), [uniform([1, 19, 3 * 6], 12)]);
    assert.equal(r.checked, 19 * 18);
    assert.ok(r.maxRelError < 1e-6, `L = 19: max rel error ${r.maxRelError}`);
  });
});

test("attentionFused refuses bad arguments with a message naming them", () => {
  tidy(() => {
    assert.throws(() => attentionFused(T.zeros([2, 3, 7]), 1, true), /attentionFused.*qkv.*\(N, L, 3d\)/s);
    assert.throws(() => attentionFused(T.zeros([2, 3, 12]), 3, true), /heads.*divisor of d = 4/s);
    assert.throws(() => attentionFused(T.zeros([2, 3, 12], { dtype: "int64" }), 2, true), /float32, float64 or bfloat16 CPU tensor/);
    assert.throws(() => attentionFused(T.zeros([0, 3, 12]), 2, true), /non-empty/);
  });
});

test("linearChunked refuses bad arguments with a message naming them", () => {
  tidy(() => {
    const x = T.zeros([2, 3]);
    const w = T.zeros([4, 3]);
    assert.throws(() => linearChunked(x, T.zeros([4, 5]), null), /linearChunked.*x.*last dim is 5/s);
    assert.throws(() => linearChunked(x, w, T.zeros([3])), /bias.*4 elements/s);
    assert.throws(() => linearChunked(x, w, null, { chunkRows: 0 }), /chunkRows.*positive integer/s);
    assert.throws(() => linearChunked(x.to("float64"), w, null), /float32 or float64, all three of the same dtype/);
    assert.throws(() => linearChunked(x, T.zeros([3]), null), /weight.*2-d/s);
    assert.throws(() => linearChunked(x.to("bfloat16"), w, null), /float32 or float64, all three of the same dtype/, "a bf16 x needs bf16: true");
    assert.throws(() => linearChunked(x.to("float64"), w.to("float64"), null, { bf16: true }), /bf16.*false for float64/s);
  });
});

/** A seeded model of the given sizes (d 16, 2 heads, one encoder and one decoder layer) and two random token batches. */
function tinyModel(size: { height: number; width: number; vocabSize: number; projectionDim: number }, batch: number, seed: number): { model: GCRLModel; weak: Tensor; strong: Tensor } {
  T.manualSeed(seed);
  const model = new GCRLModel({ ...size, d: 16, heads: 2, encoderLayers: 1, decoderLayers: 1 });
  const shape = [batch, size.height, size.width];
  return { model, weak: T.randint(0, size.vocabSize, shape), strong: T.randint(0, size.vocabSize, shape) };
}

/**
 * Loss and every parameter gradient (as float64) of one gcrl step of model with the given kernel
 * path and precision (set on the model: setCompute; the model keeps them after).
 */
function lossAndGrads(model: GCRLModel, weak: Tensor, strong: Tensor, settings: { kernels?: KernelPath; precision?: MatmulPrecision }): { loss: number; grads: Tensor[] } {
  model.setCompute(settings);
  model.zeroGrad();
  const r = hybridLoss({ mode: "gcrl", alpha: 1, beta: 1, tau: 0.1 }, model, weak, strong);
  r.loss.backward();
  return { loss: r.loss.item(), grads: model.parameters().map((p) => p.grad!.to("float64")) };
}

test("a GCRL training loss and all its gradients: fast path = reference path (float64 to 1e-10; float32 to 1e-5 / 1e-4)", (t) => {
  tidy(() => {
    // 6 images of 28×28 = 4704 tokens per view: the encoder's Linear layers run more than one chunk.
    const { model, weak, strong } = tinyModel({ height: 28, width: 28, vocabSize: 16, projectionDim: 32 }, 6, 5);
    const names = model.namedParameters().map(([n]) => n);

    // float64: the two paths compute the same function, to rounding.
    const m64 = new GCRLModel(model.config);
    m64.loadStateDict(new Map(model.namedParameters().map(([k, p]) => [k, p.detach()])));
    m64.to("float64");
    const truth = lossAndGrads(m64, weak, strong, { kernels: "reference" });
    for (const parallel of [false, true]) {
      const fast64 = blasMode(parallel, () => lossAndGrads(m64, weak, strong, { kernels: "fast" }));
      assert.ok(Math.abs(fast64.loss - truth.loss) / truth.loss < 1e-12, `float64 loss ${fast64.loss} vs ${truth.loss}`);
      truth.grads.forEach((g, i) => {
        const d = relDiff(fast64.grads[i]!, g);
        assert.ok(d < 1e-10, `float64 gradient of ${names[i]}${parallel ? " (OpenBLAS on 1 thread)" : ""}: relative difference ${d}`);
      });
    }

    // float32, the training precision: loss within 1e-5 of the reference path; at most 3 gradients
    // more than 1e-4 from the reference path's, and every gradient within 2e-4 of the exact
    // (float64) one or no further from it than 3× the reference path's own error. The few
    // gradients beyond 1e-4 are those float32 rounding alone puts there, whatever the kernels:
    // ln_r.bias and head.2.bias sum contrastive gradients that nearly cancel (the reference path is
    // ~2e-3 and ~6e-5 off float64 there). The float64 comparison above is the exact one.
    const ref = lossAndGrads(model, weak, strong, { kernels: "reference" });
    for (const parallel of [false, true]) {
      const fast = blasMode(parallel, () => lossAndGrads(model, weak, strong, { kernels: "fast" }));
      assert.equal(model.compute.kernels, "fast", "the model holds the kernel path it was last given");
      const lossDiff = Math.abs(fast.loss - ref.loss) / Math.abs(ref.loss);
      assert.ok(lossDiff < 1e-5, `loss ${fast.loss} vs ${ref.loss}: relative difference ${lossDiff}`);
      let worst = 0;
      let beyond = 0;
      ref.grads.forEach((g, i) => {
        const d = relDiff(fast.grads[i]!, g);
        worst = Math.max(worst, d);
        if (d > 1e-4) beyond++;
        const fastError = relDiff(fast.grads[i]!, truth.grads[i]!);
        const refError = relDiff(g, truth.grads[i]!);
        assert.ok(fastError < Math.max(2e-4, 3 * refError), `gradient of ${names[i]}: fast path ${fastError} from float64, reference path ${refError}`);
      });
      assert.ok(beyond <= 3, `${beyond} gradients differ by more than 1e-4 between the paths`);
      t.diagnostic(`float32${parallel ? ", OpenBLAS on 1 thread" : ""}: loss relative difference ${lossDiff.toExponential(2)}, largest gradient difference ${worst.toExponential(2)}, ${beyond} above 1e-4`);
    }
  });
});

test("bf16 mixed precision: the training loss and gradients stay within bf16 rounding of float32", () => {
  tidy(() => {
    const { model, weak, strong } = tinyModel({ height: 6, width: 5, vocabSize: 8, projectionDim: 16 }, 4, 6);
    const fp32 = lossAndGrads(model, weak, strong, { precision: "fp32" });
    const bf16 = lossAndGrads(model, weak, strong, { precision: "bf16" });
    const lossDiff = Math.abs(bf16.loss - fp32.loss) / fp32.loss;
    assert.ok(lossDiff > 0 && lossDiff < 1e-2, `loss ${bf16.loss} vs ${fp32.loss}`);
    for (const p of model.parameters()) assert.equal(p.grad!.dtype, "float32", "master gradients stay float32");
    // The whole gradient, flattened: its direction within bf16 rounding of float32's.
    const flat = (gs: Tensor[]): Tensor => T.cat(gs.map((g) => g.flatten()));
    const [a, b] = [flat(bf16.grads), flat(fp32.grads)];
    const cosine = a.dot(b).item() / Math.sqrt(a.dot(a).item() * b.dot(b).item());
    assert.ok(cosine > 0.999 && cosine < 1, `cosine of bf16 and float32 gradients ${cosine}`);
  });
});

test("train.precision bf16 falls back to fp32 with a warning where the CPU lacks native bf16", () => {
  const warnings: string[] = [];
  const got = trainingPrecision("bf16", (line) => warnings.push(line));
  if (T.bf16Supported()) {
    assert.equal(got, "bf16");
    assert.deepEqual(warnings, []);
  } else {
    assert.equal(got, "fp32");
    assert.match(warnings.join("\n"), /bf16.*avx512_bf16 or amx_bf16.*fp32/);
  }
  assert.equal(trainingPrecision("fp32", (line) => warnings.push(line)), "fp32");
  // On a GPU the host CPU's bf16 flags do not matter: no fallback, no warning.
  const before = warnings.length;
  assert.equal(trainingPrecision("bf16", (line) => warnings.push(line), "cuda"), "bf16");
  assert.equal(warnings.length, before);
});
