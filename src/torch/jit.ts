// TorchScript modules: load a file saved with torch.jit.save (scripted or traced) and run it.
//
//   import { torch } from "gcrl";  const { jit } = torch;   (or: import { jit } from "./torch/index.ts")
//   const m = jit.load("model.pt");          // in eval mode, on the CPU unless { device } says otherwise
//   const y = m.forwardTensor(x);            // or m.forward(...) for tuple/list results
//   m.dispose();
//
// Paths are checked here first; whatever libtorch rejects (not a TorchScript archive, wrong
// argument types or shapes inside forward) comes back as a TorchError naming the file.
import { statSync } from "node:fs";
import { native, type ModuleHandle, type NativeValue } from "./native.ts";
import { Tensor, fromNative } from "./tensor.ts";
import { TorchError } from "./errors.ts";
import type { Device } from "./dtype.ts";

/** What forward() accepts: tensors, numbers, booleans, strings, null, and arrays (lists / tuples), converted to the types forward's schema declares. */
export type ScriptInput = Tensor | number | boolean | string | null | readonly ScriptInput[];
/** What forward() returns: a tensor, a scalar, (possibly nested) arrays for tuples and lists, objects for dicts. */
export type ScriptOutput = Tensor | number | boolean | string | null | ScriptOutput[] | { [key: string]: ScriptOutput };

export interface LoadOptions {
  /** Device for the module's parameters and buffers (default: where they were saved, usually "cpu"). */
  device?: Device | string;
}

const DEVICE_PATTERN = /^(cpu|cuda(:\d+)?)$/;

/**
 * A libtorch message as its summary (the last non-empty line: TorchScript puts the error after
 * its traceback), optional context, then the full text indented when it has more lines.
 */
function nativeMessage(err: unknown, context = ""): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length <= 1) return `${text.trim()}${context}`;
  return `${lines[lines.length - 1]!.trim()}${context}\n  ${lines.join("\n  ")}`;
}

function toNative(input: ScriptInput, index: string): unknown {
  if (input instanceof Tensor) {
    if (input.isDisposed) throw new TorchError("jit.forward", `input ${index} was disposed`, "");
    return input.handle;
  }
  if (Array.isArray(input)) return input.map((x: ScriptInput, i: number) => toNative(x, `${index}[${i}]`));
  if (input === null || typeof input === "number" || typeof input === "boolean" || typeof input === "string") return input;
  throw new TorchError("jit.forward", `input ${index} must be a Tensor, number, boolean, string, null or array, got ${typeof input}`, "");
}


function describeInputs(inputs: readonly ScriptInput[]): string {
  const one = (x: ScriptInput): string =>
    x instanceof Tensor ? x.toString() : Array.isArray(x) ? `[${x.map(one).join(", ")}]` : JSON.stringify(x) ?? String(x);
  return inputs.map(one).join(", ");
}

/** A loaded TorchScript module. Starts in eval mode. */
export class ScriptModule {
  #handle: ModuleHandle | null;
  #training = false;

  private constructor(
    handle: ModuleHandle,
    /** The file it was loaded from. */
    readonly path: string,
  ) {
    this.#handle = handle;
  }

  /** Loads a module saved with torch.jit.save. */
  static load(path: string, options: LoadOptions = {}): ScriptModule {
    if (typeof path !== "string" || path === "") throw new TorchError("jit.load", `expected a file path, got ${JSON.stringify(path)}`, "");
    let isFile: boolean;
    try {
      isFile = statSync(path).isFile();
    } catch {
      throw new TorchError("jit.load", `no such file: ${path}`, "");
    }
    if (!isFile) throw new TorchError("jit.load", `not a file: ${path}`, "");
    const device = options.device;
    if (device !== undefined) {
      if (typeof device !== "string" || !DEVICE_PATTERN.test(device)) {
        throw new TorchError("jit.load", `device must be "cpu", "cuda" or "cuda:N", got ${JSON.stringify(device)}`, "");
      }
      if (device.startsWith("cuda") && !native.cudaAvailable()) {
        throw new TorchError("jit.load", `cannot load ${path} onto ${device}: CUDA is not available in this build or on this machine`, "");
      }
    }
    try {
      return new ScriptModule(device === undefined ? native.jitLoad(path) : native.jitLoad(path, device), path);
    } catch (err) {
      throw new TorchError("jit.load", `cannot load ${path} as a TorchScript module (saved with torch.jit.save?): ${nativeMessage(err)}`, "");
    }
  }

  private get handle(): ModuleHandle {
    if (this.#handle === null) throw new TorchError("jit", `the module loaded from ${this.path} was disposed and can no longer be used`, "");
    return this.#handle;
  }

  /**
   * Runs the module's forward(). Tensors in the result are new wrappers owned by the innermost
   * tidy() scope. Arguments are converted to the types of forward's schema (int, float, lists,
   * tuples); trailing arguments with defaults may be left out.
   */
  forward(...inputs: ScriptInput[]): ScriptOutput {
    const handle = this.handle;
    const args = inputs.map((x, i) => toNative(x, String(i)));
    let result: NativeValue;
    try {
      result = native.jitForward(handle, args);
    } catch (err) {
      // Inputs go after the summary line, before the (long) TorchScript traceback.
      throw new TorchError("jit.forward", `${this.path}: ${nativeMessage(err, ` (inputs: ${describeInputs(inputs)})`)}`, "");
    }
    return fromNative(result) as ScriptOutput;
  }

  /** forward() for modules that return exactly one tensor; throws otherwise. */
  forwardTensor(...inputs: ScriptInput[]): Tensor {
    const out = this.forward(...inputs);
    if (out instanceof Tensor) return out;
    const kind = Array.isArray(out) ? `an array of ${out.length}` : typeof out;
    throw new TorchError("jit.forward", `${this.path}: expected forward() to return one tensor, got ${kind}; use forward()`, "");
  }

  /** Training mode (dropout active, batch norm updating its statistics). */
  train(on = true): this {
    native.jitSetTraining(this.handle, on);
    this.#training = on;
    return this;
  }

  /** Evaluation mode (the state after load). */
  eval(): this {
    return this.train(false);
  }

  get training(): boolean {
    return this.#training;
  }

  /**
   * The parameters by qualified name ("fc.weight"), including those of submodules. The tensors
   * share memory with the module: in-place changes show up in forward().
   */
  namedParameters(): Map<string, Tensor> {
    return new Map(native.jitParameters(this.handle).map(([name, h]) => [name, Tensor.fromHandle(h)]));
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /**
   * Frees the native module now (idempotent). Tensors returned by forward() or namedParameters()
   * stay valid: they hold their own references.
   */
  dispose(): void {
    if (this.#handle !== null) native.jitDispose(this.#handle);
    this.#handle = null;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  toString(): string {
    return `ScriptModule(${this.path}${this.#handle === null ? ", disposed" : ""})`;
  }
}

/** Loads a TorchScript module saved with torch.jit.save (see ScriptModule.load). */
export function load(path: string, options: LoadOptions = {}): ScriptModule {
  return ScriptModule.load(path, options);
}
