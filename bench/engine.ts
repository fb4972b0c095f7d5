// Engine benchmarks: the cost of one call through the binding, and a large float32 matmul through
// the binding next to the same matmul through Debian's PyTorch (same libtorch, same thread count).
// The binding must add nothing: expected ratio >= 0.95. Then the matmul peaks this process can reach,
// side by side in alternating rounds: float32 through OpenBLAS (aten::mm, as the environment
// configures OpenBLAS), float32 through oneDNN (dnnl_sgemm, gcrl::fp32_mm), and bfloat16 through
// oneDNN (aten::mm on bf16 operands); the best float32 peak is what MFU is measured against.
import { performance } from "node:perf_hooks";
import { native } from "../src/torch/native.ts";
import { opId } from "../src/torch/dispatch.ts";
import { ones, randn, tidy, getNumThreads, buildInfo, bf16Supported, fp32Mm, fp32GemmReport, type Fp32GemmRoute } from "../src/torch/index.ts";
import { runPythonJson, pythonTorchAvailable } from "./python.ts";

function timeIt(iterations: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - t0) / iterations; // ms per iteration
}

function opOverhead(): void {
  const a = ones([1]);
  const b = ones([1]);
  const add = opId("aten::add.Tensor");
  // Warm up, then take the best of 5 rounds.
  const rounds = (fn: () => void, n: number) => Math.min(...Array.from({ length: 5 }, () => timeIt(n, fn)));
  rounds(() => tidy(() => a.add(b)), 2000);
  const raw = rounds(() => native.dispose(native.call(add, [a.handle, b.handle, 1]) as never), 20000);
  const typed = rounds(() => a.add(b).dispose(), 20000);
  const scoped = rounds(() => tidy(() => a.add(b)), 20000);
  console.log(`op overhead (1-element add, incl. result alloc/free):`);
  console.log(`  raw native call      ${(raw * 1000).toFixed(2)} µs/call`);
  console.log(`  Tensor.add+dispose   ${(typed * 1000).toFixed(2)} µs/call`);
  console.log(`  inside tidy()        ${(scoped * 1000).toFixed(2)} µs/call`);
  const pyOverhead = runPythonJson<{ us: number }>(`
import torch, time, json
torch.set_num_threads(${getNumThreads()})
a = torch.ones(1); b = torch.ones(1)
best = 1e9
for r in range(5):
    t0 = time.perf_counter()
    for i in range(20000): c = torch.add(a, b)
    best = min(best, (time.perf_counter() - t0) / 20000)
print(json.dumps({"us": best * 1e6}))`);
  if (pyOverhead) console.log(`  PyTorch (Python)     ${pyOverhead.us.toFixed(2)} µs/call  (reference)`);
  a.dispose();
  b.dispose();
}

/**
 * Best GFLOP/s of an n×n·n×n matmul over `repeats`: float32 or bfloat16 operands through aten::mm
 * (float32: OpenBLAS; bfloat16: oneDNN where the CPU multiplies bf16), or float32 through one route
 * of gcrl::fp32_mm (route "onednn": dnnl_sgemm).
 */
export function matmulPeak(n: number, repeats: number, dtype: "float32" | "bfloat16" = "float32", route: Fp32GemmRoute | null = null): number {
  const a = randn([n, n]).to(dtype);
  const b = randn([n, n]).to(dtype);
  const mm = route === null ? () => tidy(() => a.matmul(b)) : () => tidy(() => fp32Mm(a, b, route));
  mm(); // warm-up
  let best = Infinity;
  for (let i = 0; i < repeats; i++) best = Math.min(best, timeIt(1, mm));
  a.dispose();
  b.dispose();
  return (2 * n * n * n) / (best / 1000) / 1e9;
}

export interface MatmulPeaks {
  /** GFLOP/s at n³: float32 through OpenBLAS, through oneDNN (null where dnnl_sgemm is not in the process), bfloat16 through aten::mm (null when not asked for). */
  openblas: number;
  onednn: number | null;
  bf16: number | null;
  /** The better float32 peak. */
  best32: number;
  /** What the peaks ran on: OpenBLAS's kernel set, oneDNN's version, or why oneDNN is unavailable. */
  note: string;
}

/**
 * The matmul peaks of this process at n³, measured in `rounds` alternating rounds (OpenBLAS,
 * oneDNN, bf16, OpenBLAS, …) so that each sees the same machine load; each peak is the best of
 * `repeats` × rounds. bf16 only when asked for (emulated, and slow, on CPUs without native bf16).
 */
export function matmulPeaks(n: number, repeats: number, rounds: number, withBf16: boolean): MatmulPeaks {
  const report = fp32GemmReport();
  let openblas = 0;
  let onednn: number | null = null;
  let bf16: number | null = null;
  for (let r = 0; r < rounds; r++) {
    openblas = Math.max(openblas, matmulPeak(n, repeats));
    if (report.onednnAvailable) onednn = Math.max(onednn ?? 0, matmulPeak(n, repeats, "float32", "onednn"));
    if (withBf16) bf16 = Math.max(bf16 ?? 0, matmulPeak(n, bf16Supported() ? repeats : 1, "bfloat16"));
  }
  const note = `OpenBLAS kernels ${report.openblasCore ?? "?"}; ${report.onednnAvailable ? `oneDNN ${report.onednnVersion ?? "?"} (dnnl_sgemm)` : `oneDNN unavailable: ${report.onednnReason}`}`;
  return { openblas, onednn, bf16, best32: Math.max(openblas, onednn ?? 0), note };
}

/** The peaks as printed lines, with `label` (e.g. "1024³, best of 5 × 3 alternating rounds"). */
export function describePeaks(p: MatmulPeaks, label: string): string[] {
  const f = (x: number | null): string => (x === null ? "n/a" : `${x.toFixed(1)} GFLOP/s`);
  return [
    `matmul peaks (${label}; ${p.note}):`,
    `  float32 OpenBLAS   ${f(p.openblas)}`,
    `  float32 oneDNN     ${f(p.onednn)}${p.onednn !== null ? `  (${(p.onednn / p.openblas).toFixed(2)}× OpenBLAS)` : ""}`,
    ...(p.bf16 !== null ? [`  bfloat16 oneDNN    ${f(p.bf16)}  (${(p.bf16 / p.best32).toFixed(2)}× the best float32; ${bf16Supported() ? "native bf16" : "no native bf16 on this CPU: libtorch emulates it"})`] : []),
    `  best float32       ${f(p.best32)}`,
  ];
}

function pythonMatmul(n: number, repeats: number): number | null {
  const r = runPythonJson<{ gflops: number }>(
    `
import torch, time, json
torch.set_num_threads(${getNumThreads()})
a = torch.randn(${n}, ${n}); b = torch.randn(${n}, ${n})
a @ b
best = 1e9
for i in range(${repeats}):
    t0 = time.perf_counter(); c = a @ b; best = min(best, time.perf_counter() - t0)
print(json.dumps({"gflops": 2 * ${n}**3 / best / 1e9}))`,
    { OMP_NUM_THREADS: String(getNumThreads()) },
  );
  return r?.gflops ?? null;
}

export function benchEngine(): void {
  const info = buildInfo();
  console.log(`== engine: libtorch ${info.version}, ${getNumThreads()} threads ==`);
  opOverhead();
  const n = 1024;
  // Alternate binding and PyTorch rounds so both see the same machine load; keep each side's best.
  let ours = 0;
  let theirs: number | null = null;
  for (let round = 0; round < 3; round++) {
    ours = Math.max(ours, matmulPeak(n, 10));
    const p = pythonMatmul(n, 10);
    if (p !== null) theirs = Math.max(theirs ?? 0, p);
  }
  console.log(`matmul ${n}x${n}x${n} float32:`);
  console.log(`  gcrl binding         ${ours.toFixed(1)} GFLOP/s`);
  if (theirs !== null) {
    console.log(`  PyTorch (Python)     ${theirs.toFixed(1)} GFLOP/s`);
    console.log(`  ratio binding/PyTorch ${(ours / theirs).toFixed(3)}  (target >= 0.95)`);
  } else {
    console.log(`  PyTorch reference unavailable (${pythonTorchAvailable() ? "failed" : "python3-torch not importable"})`);
  }
  // The peaks side by side: float32 on OpenBLAS and on oneDNN, bf16 on oneDNN (its bf16 GEMM where
  // the CPU multiplies bf16 natively, an emulation otherwise).
  for (const line of describePeaks(matmulPeaks(n, 5, 3, true), `${n}³, best of 5 × 3 alternating rounds`)) console.log(line);
}
