// The compute options of a run — matmul precision and kernel path (src/torch/kernels.ts) — from
// its resolved config. The trainer builds the model with them and loadRun rebuilds it with the
// same, so a run trains, evaluates and samples in one precision without any process-wide setting.
import { bf16Supported, resolveCompute, type ComputeOptions, type MatmulPrecision } from "../torch/index.ts";
import type { RunConfig } from "./run-config.ts";

/**
 * The matmul precision a run computes in: the config's, except that "bf16" on a CPU without native
 * bf16 falls back to "fp32" with a warning (libtorch would emulate it, many times slower).
 * GCRL_FORCE_BF16=1 keeps emulated bf16 (for tests of the bf16 path on such machines). On a CUDA
 * `device` the host CPU's flags say nothing: the GPU multiplies (Ampere and later natively, as
 * PyTorch's autocast assumes), so "bf16" stays.
 */
export function trainingPrecision(wanted: MatmulPrecision, warn: (line: string) => void, device = "cpu"): MatmulPrecision {
  if (wanted !== "bf16" || device !== "cpu" || bf16Supported() || process.env.GCRL_FORCE_BF16 === "1") return wanted;
  warn("warning: train.precision \"bf16\" needs a CPU with native bfloat16 (avx512_bf16 or amx_bf16 in /proc/cpuinfo); this one has neither, so the run computes in fp32");
  return "fp32";
}

/**
 * { precision: trainingPrecision(train.precision), kernels: "fast" }: what a run's model computes
 * with on `device` (on a GPU the fast kernels, CPU-only, step aside for ATen's: src/torch/kernels.ts).
 */
export function runCompute(config: Pick<RunConfig, "train">, warn: (line: string) => void, device = "cpu"): ComputeOptions {
  return resolveCompute({ precision: trainingPrecision(config.train.precision, warn, device), kernels: "fast" });
}
