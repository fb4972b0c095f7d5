// Scratch comparison (issue 17, "fp32 at the machine's limit"): float32 training steps on the fast
// kernels with gcrl::linear's GEMMs on the per-shape choice ("auto") and forced onto OpenBLAS row
// chunks (as before), alternating step by step so both see the same machine load; medians of wall
// and CPU seconds, model-GFLOP/s, MFU against the matmul peaks measured in the same run, and the
// choice made per GEMM shape. Usage:
//   node --import tsx bench/fp32-gemm-steps.ts [steps per variant, default 3] [reference|d64]
// reference: the reference model (bench/train.ts's setup); d64: the study model of
// configs/fmnist-1h.json (d = 64, 4 heads, 2 encoder + 1 decoder layers, batch 32).
import { loadavg } from "node:os";
import { setNumThreads, type Fp32GemmMode } from "../src/torch/index.ts";
import { ourTrainer, trainBenchSetup, modelFlopsPerImage, printGemmChoices, type TrainBenchSetup } from "./train.ts";
import { matmulPeaks, describePeaks } from "./engine.ts";

setNumThreads(2);
const steps = Number(process.argv[2] ?? 3);
const which = process.argv[3] ?? "reference";
const base = trainBenchSetup();
const setup: TrainBenchSetup = which === "d64" ? { ...base, source: "the study model (d = 64)", model: { ...base.model, d: 64, heads: 4, encoderLayers: 2, decoderLayers: 1 } } : base;
console.log(`fp32 GEMM routes, ${setup.source}, batch ${setup.batch}; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
const peaks = matmulPeaks(1024, 3, 2, false);
for (const line of describePeaks(peaks, "1024³, best of 3 × 2 alternating rounds")) console.log(line);
const ours = ourTrainer(setup);
const flops = modelFlopsPerImage(ours.model, setup.objective.mode) * setup.batch;
const variants: Fp32GemmMode[] = ["auto", "openblas"];
for (const v of variants) ours.step("fast", "fp32", true, false, v); // warm-up; "auto" measures the routes here
const times = new Map(variants.map((v) => [v, { wall: [] as number[], cpu: [] as number[] }]));
for (let s = 0; s < steps; s++)
  for (const v of s % 2 === 0 ? variants : [...variants].reverse()) {
    const t = ours.step("fast", "fp32", true, false, v);
    times.get(v)!.wall.push(t.wall);
    times.get(v)!.cpu.push(t.cpu);
  }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const v of variants) {
  const { wall, cpu } = times.get(v)!;
  const gf = flops / median(wall) / 1e9;
  console.log(`GEMMs ${v.padEnd(8)}: step ${median(wall).toFixed(2)} s (${wall.map((w) => w.toFixed(2)).join(", ")}), CPU ${median(cpu).toFixed(2)} s/step; ${gf.toFixed(1)} model-GFLOP/s = ${((100 * gf) / peaks.best32).toFixed(0)}% of the best float32 peak`);
}
const [a, o] = variants.map((v) => times.get(v)!);
console.log(`auto / openblas: ${(median(o!.wall) / median(a!.wall)).toFixed(2)}× by wall time, ${(median(o!.cpu) / median(a!.cpu)).toFixed(2)}× by CPU time`);
printGemmChoices();
ours.dispose();
