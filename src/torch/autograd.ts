// Gradient mode and multi-output backward.
import { native } from "./native.ts";
import { Tensor } from "./tensor.ts";
import { TorchError } from "./errors.ts";

function runWithGradMode<T>(enabled: boolean, fn: () => T, name: string): T {
  const previous = native.setGradEnabled(enabled);
  try {
    const result = fn();
    if (typeof result === "object" && result !== null && typeof (result as { then?: unknown }).then === "function") {
      throw new TypeError(`${name}(fn): fn returned a Promise; gradient mode only covers synchronous code`);
    }
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn with gradient recording off (inference, optimizer updates). fn must be synchronous. */
export function noGrad<T>(fn: () => T): T {
  return runWithGradMode(false, fn, "noGrad");
}

/** Runs fn with gradient recording on (inside a noGrad block). */
export function enableGrad<T>(fn: () => T): T {
  return runWithGradMode(true, fn, "enableGrad");
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Backpropagates from several outputs at once (gradients default to ones for scalars). */
export function backward(outputs: Tensor[], gradients?: Tensor[], options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  if (gradients !== undefined && gradients.length !== outputs.length) {
    throw new TorchError("backward", `got ${outputs.length} outputs but ${gradients.length} gradients`, "");
  }
  try {
    native.backward(
      outputs.map((o) => o.handle),
      gradients ? gradients.map((g) => g.handle) : null,
      options.retainGraph ?? false,
      options.createGraph ?? false,
    );
  } catch (err) {
    throw new TorchError("backward", (err as Error).message.trim(), outputs.map(String).join(", "));
  }
}
