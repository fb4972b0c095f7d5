// Engine benchmarks: the cost of one call through the binding, and a large float32 matmul through
// the binding next to the same matmul through Debian's PyTorch (same libtorch, same thread count).
// The binding must add nothing: expected ratio >= 0.95.
import { performance } from "node:perf_hooks";
import { native } from "../src/torch/native.ts";
import { opId } from "../src/torch/dispatch.ts";
import { ones, randn, tidy, getNumThreads, buildInfo, bf16Supported } from "../src/torch/index.ts";
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

/** Best GFLOP/s of an n×n·n×n matmul over `repeats` (float32, or bfloat16 operands). */
export function matmulPeak(n: number, repeats: number, dtype: "float32" | "bfloat16" = "float32"): number {
  const a = randn([n, n]).to(dtype);
  const b = randn([n, n]).to(dtype);
  tidy(() => a.matmul(b)); // warm-up
  let best = Infinity;
  for (let i = 0; i < repeats; i++) best = Math.min(best, timeIt(1, () => tidy(() => a.matmul(b))));
  a.dispose();
  b.dispose();
  return (2 * n * n * n) / (best / 1000) / 1e9;
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
  // The bf16 peak: oneDNN's bf16 GEMM where the CPU multiplies bf16 natively, an emulation otherwise.
  const bf16 = matmulPeak(n, bf16Supported() ? 10 : 2, "bfloat16");
  console.log(`matmul ${n}x${n}x${n} bfloat16 operands: ${bf16.toFixed(1)} GFLOP/s, ${(bf16 / ours).toFixed(2)}× float32 (${bf16Supported() ? "native bf16" : "no native bf16 on this CPU: libtorch emulates it"})`);
}
