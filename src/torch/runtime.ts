// Process-wide settings: thread count, devices, build information.
import { native } from "./native.ts";
import { argError } from "./errors.ts";

/** Sets libtorch's intra-op thread count (OpenMP). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) argError("setNumThreads", "n", "an integer between 1 and 1024", n);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** True when this libtorch build has CUDA and a GPU is visible. */
export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

/** Waits for queued CUDA work (for timing); a no-op without CUDA. */
export function cudaSynchronize(): void {
  native.cudaSynchronize();
}

export interface BuildInfo {
  /** libtorch version, e.g. "1.13.1". */
  version: string;
  /** at::show_config(): compiler, BLAS, oneDNN, CPU capability. */
  config: string;
  /** at::get_parallel_info(): thread pools and their sizes. */
  parallel: string;
  mkldnn: boolean;
  mkldnnBf16: boolean;
}

export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
