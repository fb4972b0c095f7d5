// Kernel benchmark: forward + backward of every Linear shape of the reference model on one training
// batch's tokens (32 images × 28 × 28 = 25,088 rows), aten::linear (one GEMM per product) vs
// gcrl::linear at several chunk sizes, side by side in one run: chunks one after another with
// OpenBLAS on its own threads (what training runs), and chunks in parallel over libtorch's threads
// with OpenBLAS on one thread (the setBlasThreads(1) option); prints GFLOP/s (3 GEMMs of
// 2·rows·in·out FLOPs each) and the ratio to aten::linear. Runs with the caching allocator on, as
// training does (without it, page faults on the 25 MB–51 MB outputs swamp the GEMMs). The chunk
// columns force gcrl::linear's float32 GEMMs onto OpenBLAS; two more columns run them on oneDNN
// (one dnnl_sgemm per product) and on the per-shape choice ("auto", what training runs). Then the
// fused axial attention (gcrl::attention) against the reference attention, side by side.
import { performance } from "node:perf_hooks";
import { getNumThreads, linearChunked, manualSeed, randn, setNumThreads, tidy, op, LINEAR_CHUNK_ROWS, blasThreads, setBlasThreads, attentionVariant, setFp32Gemm, fp32GemmReport, type Fp32GemmMode, withCpuCacheSync, resolveCompute, type Tensor, type KernelPath } from "../src/torch/index.ts";
import { multiHeadAttention } from "../src/model/attention.ts";

const THREADS = 2;
const ROWS = 32 * 28 * 28;
/** (in, out) of qkv, proj, fc1 and fc2 at d = 128. */
const SHAPES: [string, number, number][] = [
  ["qkv", 128, 384],
  ["proj", 128, 128],
  ["fc1", 128, 512],
  ["fc2", 512, 128],
];
const CHUNKS = [1024, 2048, 4096, 8192];
const PARALLEL_CHUNKS = [1024, 2048, 4096];
const REPEATS = 5;

/** Median wall seconds of forward + backward of f(x, w, b) (weighted sum as the loss). */
function time(f: (x: Tensor, w: Tensor, b: Tensor) => Tensor, inF: number, outF: number): number {
  return tidy(() => {
    manualSeed(0);
    const x = randn([ROWS, inF]).requiresGrad_();
    const w = randn([outF, inF]).mul(0.05).detach().requiresGrad_();
    const b = randn([outF]).requiresGrad_();
    const g = randn([ROWS, outF]);
    const once = (): number => {
      const t0 = performance.now();
      tidy(() => f(x, w, b).backward(g));
      return (performance.now() - t0) / 1000;
    };
    once();
    const ts = Array.from({ length: REPEATS }, once).sort((a, b2) => a - b2);
    return ts[REPEATS >> 1]!;
  });
}

export function benchKernels(): void {
  const before = getNumThreads();
  setNumThreads(THREADS);
  try {
    withCpuCacheSync(() => {
      kernelTable();
      attentionTable();
    });
  } finally {
    setNumThreads(before);
  }
}

function kernelTable(): void {
  {
    console.log(`== kernels: Linear forward + backward on ${ROWS} rows (a reference-model batch), float32, ${THREADS} threads; median of ${REPEATS} ==`);
    const blas = blasThreads();
    const startMode = fp32GemmReport().mode;
    const onednn = fp32GemmReport().onednnAvailable;
    const gemm = <T>(mode: Fp32GemmMode, fn: () => T): T => {
      setFp32Gemm(mode);
      try {
        return fn();
      } finally {
        setFp32Gemm(startMode);
      }
    };
    const header = ["layer (in→out)", "aten::linear", ...CHUNKS.map((c) => `seq. ${c}${c === LINEAR_CHUNK_ROWS ? "*" : ""}`), ...(blas === null ? [] : PARALLEL_CHUNKS.map((c) => `par. ${c}`)), ...(onednn ? ["oneDNN", "auto"] : [])];
    console.log(`  (seq.: chunks one after another, OpenBLAS on ${blas ?? "its"} threads; par.: chunks spread over ${THREADS} libtorch threads, OpenBLAS on 1 thread${blas === null ? " — not OpenBLAS here, skipped" : ""}; oneDNN: one dnnl_sgemm per product${onednn ? "" : " — unavailable here, skipped"}; auto: gcrl::linear's per-shape choice)`);
    console.log(`  ${header.map((h, i) => (i === 0 ? h.padEnd(18) : h.padStart(14))).join("")}`);
    let totalAten = 0;
    let totalChosen = 0;
    let totalParallel = 0;
    let totalAuto = 0;
    for (const [name, inF, outF] of SHAPES) {
      const flops = 3 * 2 * ROWS * inF * outF;
      const aten = time((x, w, b) => op("aten::linear", x, w, b) as Tensor, inF, outF);
      const cells = [`${(flops / aten / 1e9).toFixed(1)} GF/s`];
      totalAten += aten;
      for (const c of CHUNKS) {
        const t = gemm("openblas", () => time((x, w, b) => linearChunked(x, w, b, { chunkRows: c }), inF, outF));
        if (c === LINEAR_CHUNK_ROWS) totalChosen += t;
        cells.push(`${(flops / t / 1e9).toFixed(1)} (${(aten / t).toFixed(2)}×)`);
      }
      if (blas !== null) {
        setBlasThreads(1);
        try {
          for (const c of PARALLEL_CHUNKS) {
            const t = gemm("openblas", () => time((x, w, b) => linearChunked(x, w, b, { chunkRows: c }), inF, outF));
            if (c === LINEAR_CHUNK_ROWS) totalParallel += t;
            cells.push(`${(flops / t / 1e9).toFixed(1)} (${(aten / t).toFixed(2)}×)`);
          }
        } finally {
          setBlasThreads(blas);
        }
      }
      if (onednn) {
        for (const mode of ["onednn", "auto"] as const) {
          const t = gemm(mode, () => time((x, w, b) => linearChunked(x, w, b), inF, outF));
          if (mode === "auto") totalAuto += t;
          cells.push(`${(flops / t / 1e9).toFixed(1)} (${(aten / t).toFixed(2)}×)`);
        }
      }
      console.log(`  ${`${name} (${inF}→${outF})`.padEnd(18)}${cells.map((c) => c.padStart(14)).join("")}`);
    }
    console.log(`  all four layers, OpenBLAS chunks of ${LINEAR_CHUNK_ROWS} one after another (*, what training ran before the per-shape choice) vs aten::linear: ${(totalAten / totalChosen).toFixed(2)}× (${(totalAten * 1000).toFixed(0)} → ${(totalChosen * 1000).toFixed(0)} ms)`);
    if (onednn) console.log(`  all four layers, the per-shape choice (auto, what training runs) vs aten::linear: ${(totalAten / totalAuto).toFixed(2)}× (${(totalAten * 1000).toFixed(0)} → ${(totalAuto * 1000).toFixed(0)} ms); vs OpenBLAS chunks of ${LINEAR_CHUNK_ROWS}: ${(totalChosen / totalAuto).toFixed(2)}×`);
    if (blas !== null) console.log(`  all four layers, parallel chunks of ${LINEAR_CHUNK_ROWS} on 1-thread OpenBLAS vs aten::linear: ${(totalAten / totalParallel).toFixed(2)}× (${(totalAten * 1000).toFixed(0)} → ${(totalParallel * 1000).toFixed(0)} ms)`);
  }
}

/**
 * gcrl::attention against the reference attention (matmul / softmax / matmul with the permute
 * copies, src/model/attention.ts), forward + backward on one reference-model batch laid out as
 * axial attention (32·28 sequences of 28 tokens, 4 heads of 32), causal and not; alternating,
 * median of REPEATS. FLOPs: q·kᵀ and P·v forward, four products of the same size backward.
 */
function attentionTable(): void {
  const [b, n, heads, dh] = [32, 28, 4, 32];
  const d = heads * dh;
  const flops = 6 * 2 * b * n * n * n * d; // 6 products of (n × n × d) per sequence
  console.log(`== kernels: axial attention forward + backward, ${b}·${n} sequences of ${n} tokens, ${heads} heads of ${dh}, float32; median of ${REPEATS} ==`);
  for (const causal of [true, false]) {
    const run = (path: KernelPath): number =>
      tidy(() => {
        manualSeed(0);
        const compute = resolveCompute({ kernels: path });
        const qkv = randn([b, n, n, 3 * d]).requiresGrad_();
        const g = randn([b, n, n, d]);
        const once = (): number => {
          const t0 = performance.now();
          tidy(() => multiHeadAttention(qkv, heads, { causal, dropout: 0, training: true, compute }).backward(g));
          return (performance.now() - t0) / 1000;
        };
        once();
        const ts = Array.from({ length: REPEATS }, once).sort((x, y) => x - y);
        return ts[REPEATS >> 1]!;
      });
    const fused = run("fast");
    const reference = run("reference");
    console.log(`  ${causal ? "causal    " : "non-causal"}  gcrl::attention ${(fused * 1000).toFixed(1)} ms (${(flops / fused / 1e9).toFixed(1)} GF/s), reference ${(reference * 1000).toFixed(1)} ms (${(flops / reference / 1e9).toFixed(1)} GF/s): ${(reference / fused).toFixed(2)}×`);
    if (attentionVariant() === "avx512") {
      // The same kernel on its 32-byte (AVX2) tiles, GCRL_AVX512=0, alternated with the
      // 64-byte ones: what the AVX-512 variant gains on this CPU.
      const [wide, narrow] = alternate(() => run("fast"), () => withEnv("GCRL_AVX512", "0", () => run("fast")));
      console.log(`              AVX-512 tiles ${(wide * 1000).toFixed(1)} ms vs AVX2 tiles ${(narrow * 1000).toFixed(1)} ms: ${(narrow / wide).toFixed(2)}×`);
    }
  }
}

/** Medians of a() and b() over 3 alternating rounds (each already a median of REPEATS). */
function alternate(a: () => number, b: () => number): [number, number] {
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < 3; r++) {
    ta.push(a());
    tb.push(b());
  }
  const med = (v: number[]): number => v.sort((x, y) => x - y)[1]!;
  return [med(ta), med(tb)];
}

/** fn() with the environment variable `name` set to `value`, restored afterwards. */
function withEnv<T>(name: string, value: string, fn: () => T): T {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}
