// Process-wide settings: thread count, devices, build information.
import { native } from "./native.ts";
import { argError, TorchError } from "./errors.ts";

/** Sets libtorch's intra-op thread count (OpenMP). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) argError("setNumThreads", "n", "an integer between 1 and 1024", n);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Checks a device string ("cpu", "cuda", "cuda:N") and that it exists here; returns it.
 * Asking for CUDA on a CPU-only libtorch (Debian's) says how to get a CUDA build.
 */
export function checkDevice(opName: string, device: string): string {
  const m = /^(cpu|cuda)(?::(\d+))?$/.exec(device);
  if (m === null || (m[1] === "cpu" && m[2] !== undefined)) argError(opName, "device", `"cpu", "cuda" or "cuda:N"`, device);
  if (m[1] === "cuda") {
    if (!native.cudaAvailable()) {
      throw new TorchError(opName, `device '${device}' requested but CUDA is not available: this libtorch build is CPU-only or no GPU is visible (build against a CUDA libtorch with LIBTORCH=/path/to/libtorch npm run build:native)`, "");
    }
    const index = Number(m[2] ?? 0);
    if (index >= native.cudaDeviceCount()) argError(opName, "device", `a CUDA device index below ${native.cudaDeviceCount()}`, device);
  }
  return device;
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
