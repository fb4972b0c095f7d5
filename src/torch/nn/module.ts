// Module: the base of every layer and model. It owns named parameters, buffers and child modules,
// and gives them dotted names ("blocks.0.attn.qkv.weight") in a fixed order: a module's own
// parameters, then its own buffers, then each child's in turn, all in registration order (the
// order of PyTorch's named_parameters() and state_dict(), so checkpoints line up key for key).
//
// Parameters and buffers are kept (exempt from tidy scopes) from registration until dispose().
// Subclasses hold them in typed fields and define their own forward().
import { Tensor } from "../tensor.ts";
import { keep } from "../scope.ts";
import { noGrad } from "../autograd.ts";
import { callOp } from "../dispatch.ts";
import { argError, TorchError } from "../errors.ts";
import { isFloating, type DType, type Device } from "../dtype.ts";
import { DEFAULT_COMPUTE, resolveCompute, type ComputeOptions } from "../kernels.ts";

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true). Shape and dtype mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Keys of this module that the map did not have (their values were left as they were). */
  missingKeys: string[];
  /** Keys of the map that this module does not have (ignored). */
  unexpectedKeys: string[];
}

interface BufferEntry {
  tensor: Tensor;
  /** Persistent buffers are part of stateDict(). */
  persistent: boolean;
}

const shapeText = (s: readonly number[]): string => `[${s.join(", ")}]`;

export class Module {
  /** True in training mode (dropout active); set with train()/eval(), which reach every child. */
  training = true;
  /**
   * How this module's Linear layers and attention compute (matmul precision, kernel path; see
   * kernels.ts): a value the module holds, not a process-wide setting. Set with setCompute(), which
   * reaches every child, so a model and all its layers compute alike.
   */
  compute: ComputeOptions = DEFAULT_COMPUTE;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, BufferEntry>();
  readonly #children = new Map<string, Module>();

  // ---- registration ---------------------------------------------------------------------------

  #checkName(kind: string, name: string): void {
    if (typeof name !== "string" || name === "" || name.includes(".")) {
      argError(`${this.constructor.name}.${kind}`, "name", "a non-empty name without dots", name);
    }
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TorchError(`${this.constructor.name}.${kind}`, `the name "${name}" is already registered on this module`, "");
    }
  }

  /**
   * Registers a trainable parameter: a floating-point leaf tensor that from now on requires grad
   * and is kept (never disposed by a scope). Returns the tensor, for `this.weight = this.param(...)`.
   */
  protected param(name: string, tensor: Tensor): Tensor {
    this.#checkName("param", name);
    if (!(tensor instanceof Tensor)) argError(`${this.constructor.name}.param`, "tensor", "a Tensor", tensor);
    if (!isFloating(tensor.dtype)) argError(`${this.constructor.name}.param`, "tensor", `a floating-point tensor for parameter "${name}"`, tensor);
    if (!tensor.isLeaf) {
      argError(`${this.constructor.name}.param`, "tensor", `a leaf tensor for parameter "${name}" (create it under noGrad or detach() it)`, tensor);
    }
    tensor.requiresGrad = true;
    keep(tensor);
    this.#params.set(name, tensor);
    return tensor;
  }

  /**
   * Registers a buffer: state that is not trained (running statistics, fixed tables). Persistent
   * buffers (the default) are saved by stateDict(). The tensor is kept.
   */
  protected buffer(name: string, tensor: Tensor, options: { persistent?: boolean } = {}): Tensor {
    this.#checkName("buffer", name);
    if (!(tensor instanceof Tensor)) argError(`${this.constructor.name}.buffer`, "tensor", "a Tensor", tensor);
    keep(tensor);
    this.#buffers.set(name, { tensor, persistent: options.persistent ?? true });
    return tensor;
  }

  /** Registers a child module under name; returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    this.#checkName("child", name);
    if (!(module instanceof Module)) argError(`${this.constructor.name}.child`, "module", "a Module", module);
    if ((module as Module) === this) argError(`${this.constructor.name}.child`, "module", "a module other than this one", module);
    this.#children.set(name, module);
    return module;
  }

  // ---- traversal ------------------------------------------------------------------------------

  /** [name, child] for the direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#children];
  }

  /** [dotted name, module] for this module ("") and every descendant, depth first (each once). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [childName, c] of m.#children) visit(c, name === "" ? childName : `${name}.${childName}`);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * [dotted name, parameter] in registration order. A parameter shared by several modules (tied
   * weights) is listed once, under the first name that reaches it.
   */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#params) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix === "" ? name : `${prefix}.${name}`, p]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** [dotted name, buffer] for every buffer (persistent or not), each once. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.#buffers) {
        if (seen.has(b.tensor)) continue;
        seen.add(b.tensor);
        out.push([prefix === "" ? name : `${prefix}.${name}`, b.tensor]);
      }
    }
    return out;
  }

  /** Number of parameter elements (shared parameters counted once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  /**
   * The live tensors behind stateDict(), by key: parameters and persistent buffers. Unlike
   * namedParameters(), a tied tensor appears under every name (as in PyTorch's state_dict).
   */
  #stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string): string => (prefix === "" ? name : `${prefix}.${name}`);
      for (const [name, p] of m.#params) out.push([key(name), p]);
      for (const [name, b] of m.#buffers) if (b.persistent) out.push([key(name), b.tensor]);
    }
    return out;
  }

  // ---- modes and gradients --------------------------------------------------------------------

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off); same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Sets the compute options of this module and every descendant: this.compute with the given
   * fields replaced (e.g. { precision: "bf16" }); returns this.
   */
  setCompute(options: Partial<ComputeOptions>): this {
    const compute = resolveCompute(options, this.compute);
    for (const m of this.modules()) m.compute = compute;
    return this;
  }

  /** Drops every parameter's gradient (sets .grad to null, which frees it). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  // ---- state ----------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted key, as detached views: they share memory with
   * the module (cheap to save; they change when the module trains). They belong to the current
   * scope: dispose them (or call this inside tidy) when done.
   */
  stateDict(): Map<string, Tensor> {
    return new Map(this.#stateEntries().map(([k, t]) => [k, t.detach()]));
  }

  /**
   * Copies values from a map (e.g. a loaded checkpoint) into this module's parameters and
   * buffers, under noGrad. Everything is checked before anything is copied, so a failed load
   * leaves the module unchanged; one error lists every problem found. Shapes and dtypes must
   * match exactly (convert the map, or call to(dtype) on the module, first).
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    if (!(state instanceof Map)) argError("loadStateDict", "state", "a Map<string, Tensor>", state);
    const strict = options.strict ?? true;
    const entries = this.#stateEntries();
    const own = new Set(entries.map(([k]) => k));
    const missingKeys = entries.map(([k]) => k).filter((k) => !state.has(k));
    const unexpectedKeys = [...state.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing key(s): ${missingKeys.map((k) => JSON.stringify(k)).join(", ")}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected key(s): ${unexpectedKeys.map((k) => JSON.stringify(k)).join(", ")}`);
    const copies: [Tensor, Tensor][] = [];
    for (const [key, target] of entries) {
      const source = state.get(key);
      if (source === undefined) continue;
      if (!(source instanceof Tensor) || source.isDisposed) {
        problems.push(`value for "${key}" is not a live Tensor`);
        continue;
      }
      const [s, t] = [source.shape, target.shape];
      if (s.length !== t.length || s.some((v, i) => v !== t[i])) {
        problems.push(`shape mismatch for "${key}": the state has ${shapeText(s)}, the module has ${shapeText(t)}`);
      } else if (source.dtype !== target.dtype) {
        problems.push(`dtype mismatch for "${key}": the state has ${source.dtype}, the module has ${target.dtype}`);
      } else {
        copies.push([target, source]);
      }
    }
    if (problems.length > 0) {
      throw new TorchError(`${this.constructor.name}.loadStateDict`, `${problems.length} problem(s): ${problems.join("; ")}`, "");
    }
    noGrad(() => {
      for (const [target, source] of copies) target.copy_(source);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- conversion and release -----------------------------------------------------------------

  /**
   * Converts every floating-point parameter and buffer to dtype in place: the Tensor objects
   * stay the same (fields and optimizers keep working) but their data is replaced. Gradients are
   * dropped. Build optimizers after converting (their state has the old dtype). Returns this.
   */
  to(dtype: DType): this {
    if (!isFloating(dtype)) argError(`${this.constructor.name}.to`, "dtype", "a floating-point dtype", dtype);
    return this.#replaceData((t) => (isFloating(t.dtype) && t.dtype !== dtype ? t.to(dtype) : null));
  }

  /** Moves every parameter and buffer to device in place (as to(dtype)); returns this. */
  toDevice(device: Device | string): this {
    return this.#replaceData((t) => (t.device !== device ? t.toDevice(device) : null));
  }

  #replaceData(convert: (t: Tensor) => Tensor | null): this {
    const tensors = [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)];
    noGrad(() => {
      for (const t of tensors) {
        const next = convert(t);
        if (next === null) continue;
        t.grad = null;
        // set_data swaps the tensor's storage, dtype and device but keeps its identity (what
        // PyTorch's Module.to does with `param.data = ...`).
        callOp("aten::set_data", [t.handle, next.handle], true);
        next.dispose();
      }
    });
    return this;
  }

  /** Frees every parameter and buffer of this module and its descendants (idempotent). */
  dispose(): void {
    for (const m of this.modules()) {
      for (const p of m.#params.values()) p.dispose();
      for (const b of m.#buffers.values()) b.tensor.dispose();
    }
  }
}

/** An indexable list of child modules, registered as "0", "1", ... (PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** Appends a module (named by its index); returns it. */
  push(module: M): M {
    this.#items.push(this.child(String(this.#items.length), module));
    return module;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The module at index (negative counts from the end). */
  at(index: number): M {
    const n = this.#items.length;
    if (!Number.isInteger(index) || index < -n || index >= n) argError("ModuleList.at", "index", `an integer in [${-n}, ${n - 1}]`, index);
    return this.#items[index < 0 ? index + n : index]!;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}

/** A module with a single-tensor forward (the shape of most layers). */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

/** Applies its children in order: forward(x) = mₙ(…m₁(x)) (PyTorch's nn.Sequential). */
export class Sequential extends ModuleList<UnaryModule> implements UnaryModule {
  constructor(...modules: UnaryModule[]) {
    super(modules);
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}
