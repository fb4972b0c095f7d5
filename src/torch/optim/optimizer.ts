// The base of the first-order optimizers (AdamW, SGD): parameter groups with their own
// hyperparameters, lazily created per-parameter state, and a state dict made of a JSON part
// (hyperparameters and step counts) plus a Map of state tensors keyed "state.<index>.<name>",
// where <index> counts parameters across groups in order (PyTorch's packed state_dict layout), so
// the tensors can be written with safetensors next to the model.
//
// step() runs under noGrad, one tidy scope per parameter: every temporary is freed at once, and
// only the state tensors (kept) outlive it.
import { Tensor } from "../tensor.ts";
import { keep, tidy } from "../scope.ts";
import { noGrad } from "../autograd.ts";
import { argError, TorchError } from "../errors.ts";
import { isFloating } from "../dtype.ts";

/** What a JSON value may be (the JSON part of a state dict is made of these). */
export type JsonValue = number | boolean | string | null | JsonValue[] | { [key: string]: JsonValue };

/** Hyperparameters of one group: plain data with a learning rate. */
export interface GroupOptions {
  lr: number;
}

/** A parameter group: its parameters and its own hyperparameters (editable, e.g. group.lr = ...). */
export type ParamGroup<O extends GroupOptions> = O & { params: Tensor[] };

/** How a group is given to a constructor: parameters plus overrides of the optimizer's defaults. */
export type ParamGroupSpec<O extends GroupOptions> = Partial<O> & { params: Iterable<Tensor> };

/** The parameters an optimizer updates: one list (one group), or several groups. */
export type ParamsSpec<O extends GroupOptions> = Iterable<Tensor> | readonly ParamGroupSpec<O>[];

/** Per-parameter state: numbers (step counts) and kept tensors (moments, momentum buffers). */
export interface ParamState {
  scalars: Record<string, number>;
  tensors: Record<string, Tensor>;
}

/** The JSON-serialisable part of an optimizer's state dict. */
export interface OptimizerStateJson {
  format: "gcrl.optimizer";
  version: 1;
  /** The optimizer class ("AdamW", "SGD", "LBFGS"). */
  kind: string;
  /** Each group's hyperparameters, with `params` the indices of its parameters. */
  paramGroups: { [key: string]: JsonValue }[];
  /** Scalar state by parameter index, e.g. { "3": { "step": 120 } }. */
  state: { [index: string]: { [name: string]: JsonValue } };
}

/** An optimizer's full state: JSON data plus tensors keyed "state.<index>.<name>". */
export interface OptimizerState {
  json: OptimizerStateJson;
  tensors: Map<string, Tensor>;
}

/** Which state a parameter holds once it has any (checked when a state dict is loaded). */
export interface StateLayout {
  scalars: string[];
  tensors: string[];
}

export const STATE_FORMAT = "gcrl.optimizer";
export const STATE_VERSION = 1;

/** Options with undefined entries dropped (so `{ lr: undefined }` does not erase a default). */
export function definedOptions<O extends object>(options: Partial<O>): Partial<O> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<O>;
}

/** Copies array-valued hyperparameters so groups never share mutable arrays. */
function copyValues<O extends object>(o: O): O {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? [...(v as unknown[])] : v])) as O;
}

/** Checks an optimizer's parameters: floating-point leaf tensors, none given twice. */
export function checkParams(kind: string, groups: readonly Tensor[][]): void {
  const seen = new Set<Tensor>();
  groups.forEach((params, g) => {
    params.forEach((p, i) => {
      const where = groups.length > 1 ? `group ${g}, parameter ${i}` : `parameter ${i}`;
      if (!(p instanceof Tensor)) argError(kind, "params", `Tensors (${where} is not one)`, p);
      if (!isFloating(p.dtype)) argError(kind, "params", `floating-point tensors (${where} is ${p.dtype})`, p);
      if (!p.isLeaf) argError(kind, "params", `leaf tensors (${where} is the result of an op; optimize the tensor it came from)`, p);
      if (seen.has(p)) throw new TorchError(kind, `${where} appears more than once in the parameters`, p.toString());
      seen.add(p);
    });
  });
}

function isGroupSpec(v: unknown): v is { params: Iterable<Tensor> } {
  return typeof v === "object" && v !== null && !(v instanceof Tensor) && "params" in v;
}

export abstract class Optimizer<O extends GroupOptions> {
  readonly paramGroups: ParamGroup<O>[];
  readonly #state = new Map<Tensor, ParamState>();

  constructor(
    /** The optimizer's name, recorded in state dicts. */
    readonly kind: string,
    params: ParamsSpec<O>,
    readonly defaults: O,
  ) {
    const list: unknown[] = [...(params as Iterable<unknown>)];
    if (list.length === 0) argError(kind, "params", "a non-empty list of tensors or parameter groups", list);
    let specs: { params: Iterable<Tensor> }[];
    if (list.every((p) => p instanceof Tensor)) specs = [{ params: list as Tensor[] }];
    else if (list.every(isGroupSpec)) specs = list;
    else specs = argError(kind, "params", "either Tensors or parameter groups ({ params, ...options }), not a mix", list);
    this.paramGroups = specs.map((spec) => {
      const { params: groupParams, ...overrides } = spec;
      for (const key of Object.keys(overrides)) {
        if (!(key in defaults)) argError(kind, "params", `groups with known options (${Object.keys(defaults).join(", ")})`, key);
      }
      const options = { ...copyValues(defaults), ...copyValues(definedOptions(overrides as Partial<O>)) };
      return { ...options, params: [...groupParams] } as ParamGroup<O>;
    });
    checkParams(kind, this.paramGroups.map((g) => g.params));
    this.paramGroups.forEach((g, i) => this.checkGroup(g, this.paramGroups.length > 1 ? `group ${i}` : "options"));
  }

  // ---- what each optimizer defines ------------------------------------------------------------

  /** Throws (naming `where` and the option) if a group's hyperparameters are invalid. */
  protected abstract checkGroup(group: ParamGroup<O>, where: string): void;

  /** The state a parameter holds once it has any, given its group's settings. */
  protected abstract stateLayout(group: ParamGroup<O>): StateLayout;

  /** The state of a parameter before its first update (tensors are kept by the caller). */
  protected abstract initState(param: Tensor, group: ParamGroup<O>): ParamState;

  /** Updates one parameter in place from its gradient; runs under noGrad inside a tidy scope. */
  protected abstract updateParam(param: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  // ---- stepping -------------------------------------------------------------------------------

  /** One update of every parameter that has a gradient (parameters without one are skipped). */
  step(): void {
    this.paramGroups.forEach((g, i) => this.checkGroup(g, this.paramGroups.length > 1 ? `group ${i}` : "options"));
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          tidy(() => {
            const grad = p.grad;
            if (grad === null) return;
            this.updateParam(p, grad, group, this.#stateOf(p, group));
          });
        }
      }
    });
  }

  /** Drops every parameter's gradient (sets .grad to null). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** Sets the learning rate of every group. */
  setLr(lr: number): void {
    if (!(lr >= 0 && Number.isFinite(lr))) argError(`${this.kind}.setLr`, "lr", "a finite non-negative number", lr);
    for (const g of this.paramGroups) g.lr = lr;
  }

  #stateOf(p: Tensor, group: ParamGroup<O>): ParamState {
    let s = this.#state.get(p);
    if (s === undefined) {
      s = this.initState(p, group);
      keep(s.tensors);
      this.#state.set(p, s);
    }
    return s;
  }

  /** Adds a tensor to a parameter's state (kept until the optimizer is disposed); returns it. */
  protected addStateTensor(state: ParamState, name: string, t: Tensor): Tensor {
    keep(t);
    state.tensors[name]?.dispose();
    state.tensors[name] = t;
    return t;
  }

  /** Frees all state tensors; the optimizer starts afresh at its next step. */
  dispose(): void {
    for (const s of this.#state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.#state.clear();
  }

  // ---- state dict -----------------------------------------------------------------------------

  /**
   * The optimizer's state. Tensors are detached views of the live state (cheap; they change at
   * the next step, so save them first); they belong to the current scope.
   */
  stateDict(): OptimizerState {
    const json: OptimizerStateJson = { format: STATE_FORMAT, version: STATE_VERSION, kind: this.kind, paramGroups: [], state: {} };
    const tensors = new Map<string, Tensor>();
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...options } = group;
      const indices: number[] = [];
      for (const p of params) {
        const s = this.#state.get(p);
        if (s !== undefined) {
          if (Object.keys(s.scalars).length > 0) json.state[String(index)] = { ...s.scalars };
          for (const [name, t] of Object.entries(s.tensors)) tensors.set(`state.${index}.${name}`, t.detach());
        }
        indices.push(index++);
      }
      json.paramGroups.push({ ...(copyValues(options) as unknown as { [key: string]: JsonValue }), params: indices });
    }
    return { json, tensors };
  }

  /**
   * Restores a state from stateDict() (possibly saved and loaded): the groups' hyperparameters
   * and every parameter's state. Groups must have the same sizes, state tensors the shapes of
   * their parameters (they are copied, converted to the parameter's dtype and device). Everything
   * is checked before anything changes; one error lists every problem found.
   */
  loadStateDict(state: OptimizerState): void {
    const name = `${this.kind}.loadStateDict`;
    const json = state?.json;
    if (typeof json !== "object" || json === null || !(state.tensors instanceof Map)) {
      argError(name, "state", "{ json, tensors } as returned by stateDict()", state);
    }
    if (json.format !== STATE_FORMAT || json.version !== STATE_VERSION) {
      throw new TorchError(name, `expected format "${STATE_FORMAT}" version ${STATE_VERSION}, got ${JSON.stringify(json.format)} version ${JSON.stringify(json.version)}`, "");
    }
    if (json.kind !== this.kind) throw new TorchError(name, `the state is of a ${json.kind} optimizer, this one is ${this.kind}`, "");
    const problems: string[] = [];
    if (!Array.isArray(json.paramGroups) || json.paramGroups.length !== this.paramGroups.length) {
      throw new TorchError(name, `the state has ${Array.isArray(json.paramGroups) ? json.paramGroups.length : "no"} parameter group(s), this optimizer has ${this.paramGroups.length}`, "");
    }

    // Hyperparameters: same keys and value types as the current groups.
    const newGroups = this.paramGroups.map((group, g) => {
      const saved = json.paramGroups[g]!;
      const savedParams = saved.params;
      if (!Array.isArray(savedParams) || savedParams.length !== group.params.length) {
        problems.push(`group ${g} has ${group.params.length} parameter(s) here but ${Array.isArray(savedParams) ? savedParams.length : "none"} in the state`);
      }
      const next: Record<string, unknown> = { ...(group as unknown as Record<string, unknown>) };
      for (const [key, value] of Object.entries(saved)) {
        if (key === "params") continue;
        const current = (group as unknown as Record<string, unknown>)[key];
        if (!(key in group)) problems.push(`group ${g} has unknown option "${key}"`);
        else if (Array.isArray(current) !== Array.isArray(value) || typeof current !== typeof value) {
          problems.push(`group ${g} option "${key}" is ${JSON.stringify(value)}, expected a value like ${JSON.stringify(current)}`);
        } else next[key] = Array.isArray(value) ? [...value] : value;
      }
      return next as unknown as ParamGroup<O>;
    });
    if (problems.length === 0) {
      newGroups.forEach((g, i) => {
        try {
          this.checkGroup(g, `group ${i}`);
        } catch (err) {
          problems.push((err as Error).message);
        }
      });
    }

    // Per-parameter state: scalars from json.state, tensors from the map.
    const params = this.paramGroups.flatMap((g, gi) => g.params.map((p) => ({ p, group: newGroups[gi]! })));
    const loaded = new Map<number, { scalars: Record<string, number>; tensors: Record<string, Tensor> }>();
    const entry = (i: number) => {
      let e = loaded.get(i);
      if (e === undefined) loaded.set(i, (e = { scalars: {}, tensors: {} }));
      return e;
    };
    const validIndex = (text: string): number | null => {
      const i = /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
      return i < params.length ? i : null;
    };
    for (const [key, scalars] of Object.entries(json.state ?? {})) {
      const i = validIndex(key);
      if (i === null) {
        problems.push(`state "${key}" is not a parameter index below ${params.length}`);
        continue;
      }
      for (const [s, v] of Object.entries(scalars)) {
        if (typeof v !== "number") problems.push(`state ${key} scalar "${s}" is ${JSON.stringify(v)}, expected a number`);
        else entry(i).scalars[s] = v;
      }
    }
    for (const [key, t] of state.tensors) {
      const m = /^state\.([0-9]+)\.([A-Za-z0-9_]+)$/.exec(key);
      const i = m === null ? null : validIndex(m[1]!);
      if (m === null || i === null) {
        problems.push(`tensor key "${key}" is not of the form "state.<index below ${params.length}>.<name>"`);
        continue;
      }
      const p = params[i]!.p;
      if (!(t instanceof Tensor) || t.isDisposed) problems.push(`tensor "${key}" is not a live Tensor`);
      else if (t.shape.join(",") !== p.shape.join(",")) {
        problems.push(`tensor "${key}" has shape [${t.shape.join(", ")}], its parameter has [${p.shape.join(", ")}]`);
      } else entry(i).tensors[m[2]!] = t;
    }
    for (const [i, e] of loaded) {
      const layout = this.stateLayout(params[i]!.group);
      const have = [...Object.keys(e.scalars), ...Object.keys(e.tensors)].sort().join(", ");
      const want = [...layout.scalars, ...layout.tensors].sort().join(", ");
      if (have !== want) problems.push(`state of parameter ${i} holds {${have}}, expected {${want}}`);
    }
    if (problems.length > 0) throw new TorchError(name, `${problems.length} problem(s): ${problems.join("; ")}`, "");

    // Commit: hyperparameters, then fresh copies of the state tensors.
    this.paramGroups.forEach((g, i) => Object.assign(g, newGroups[i]!, { params: g.params }));
    this.dispose();
    for (const [i, e] of loaded) {
      const p = params[i]!.p;
      const tensors = tidy(() => {
        const out: Record<string, Tensor> = {};
        for (const [n, t] of Object.entries(e.tensors)) out[n] = t.toDevice(p.device, p.dtype).clone();
        return out;
      });
      this.#state.set(p, { scalars: e.scalars, tensors: keep(tensors) });
    }
  }
}
