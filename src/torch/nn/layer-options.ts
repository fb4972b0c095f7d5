// Options every layer accepts, and the argument check the layer constructors share.
import { argError } from "../errors.ts";
import type { DType, Device } from "../dtype.ts";

export interface LayerOptions {
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default "cpu"). */
  device?: Device | string;
}

/** The creation options for a layer's parameters, defaults filled in. */
export function createOptions(options: LayerOptions): { dtype: DType; device: Device | string } {
  return { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
}

export function checkPositiveInt(opName: string, arg: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) <= 0) argError(opName, arg, "a positive integer", v);
}
