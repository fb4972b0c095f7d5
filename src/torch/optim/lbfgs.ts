// L-BFGS for full-batch problems (linear probes, logistic regression, small convex fits): a port
// of torch.optim.LBFGS (1.13) with the same options, stopping rules and strong-Wolfe line search
// (_strong_wolfe / _cubic_interpolate, themselves ports of minFunc's). Scalars (step length,
// directional derivatives, ρ, the Hessian scale) are JS numbers, i.e. float64.
//
// step(closure) may evaluate the closure many times. The closure must clear the gradients
// (optimizer.zeroGrad()), compute the loss, call loss.backward() and return the loss tensor; it
// runs with gradients enabled inside a tidy scope, so its temporaries are freed after each call.
import { Tensor } from "../tensor.ts";
import { zeros } from "../create.ts";
import { cat } from "../functional.ts";
import { keep, tidy } from "../scope.ts";
import { noGrad, enableGrad } from "../autograd.ts";
import { argError, TorchError } from "../errors.ts";
import { checkParams, definedOptions, STATE_FORMAT, STATE_VERSION, type JsonValue, type OptimizerState, type OptimizerStateJson } from "./optimizer.ts";

export interface LBFGSOptions {
  /** Learning rate: the initial step length of each iteration (default 1). */
  lr: number;
  /** Iterations per step() (default 20). */
  maxIter: number;
  /** Closure evaluations per step() (default ⌊maxIter·5/4⌋). */
  maxEval: number;
  /** Stop when max |gradient| <= this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when the loss or the step changes by less than this (default 1e-9). */
  toleranceChange: number;
  /** Number of (s, y) pairs kept (default 100). */
  historySize: number;
  /** "strongWolfe" for a line search satisfying the strong Wolfe conditions, null for fixed steps (default null). */
  lineSearch: "strongWolfe" | null;
}

export type LBFGSGroup = LBFGSOptions & { params: Tensor[] };

/** Evaluates the objective at x + t·d: the loss and the flat gradient there (params restored to x). */
type DirectionalEvaluate = (x: Tensor[], t: number, d: Tensor) => [number, Tensor];

/** The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds. */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [xmin, xmax] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, xmin), xmax);
  }
  return (xmin + xmax) / 2;
}

const dot = (a: Tensor, b: Tensor): number => a.dot(b).item();
const absMax = (a: Tensor): number => a.abs().max().item();

/**
 * Line search for a step t along d satisfying the strong Wolfe conditions (sufficient decrease c1,
 * curvature c2), from loss f, flat gradient g and directional derivative gtd at t = 0. Returns the
 * loss and gradient at the chosen t, t, and the number of evaluations.
 */
function strongWolfe(
  objFunc: DirectionalEvaluate,
  x: Tensor[],
  tInit: number,
  d: Tensor,
  f: number,
  gIn: Tensor,
  gtd: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
  maxLs = 25,
): { f: number; g: Tensor; t: number; evals: number } {
  let t = tInit;
  const dNorm = absMax(d);
  const g = gIn.clone();
  let [fNew, gNew] = objFunc(x, t, d);
  let evals = 1;
  let gtdNew = dot(gNew, d);

  // Bracket an interval containing a point satisfying the Wolfe criteria.
  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Tensor[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew.clone()], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew.clone()], [gtdPrev, gtdNew]];
      break;
    }
    // Interpolate towards a longer step.
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew.clone();
    gtdPrev = gtdNew;
    [fNew, gNew] = objFunc(x, t, d);
    evals += 1;
    gtdNew = dot(gNew, d);
    lsIter += 1;
  }
  if (lsIter === maxLs) {
    [bracket, bracketF, bracketG, bracketGtd] = [[0, t], [f, fNew], [g, gNew], [gtd, gtdNew]];
  }

  // Zoom: shrink the bracket until a point satisfies the criteria.
  let insufficientProgress = false;
  let [low, high] = bracketF[0]! <= bracketF[bracketF.length - 1]! ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0]!, bracketF[0]!, bracketGtd[0]!, bracket[1]!, bracketF[1]!, bracketGtd[1]!);
    // Too close to an end of the bracket: move 10% of its length inside, unless the last step
    // made good progress and t is strictly inside.
    const bMax = Math.max(...bracket);
    const bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufficientProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufficientProgress = false;
      } else {
        insufficientProgress = true;
      }
    } else {
      insufficientProgress = false;
    }
    [fNew, gNew] = objFunc(x, t, d);
    evals += 1;
    gtdNew = dot(gNew, d);
    lsIter += 1;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]!) {
      // Armijo condition not satisfied or not lower than the lowest point: new high.
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew.clone();
      bracketGtd[high] = gtdNew;
      [low, high] = bracketF[0]! <= bracketF[1]! ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high]! - bracket[low]!) >= 0) {
        // The old high becomes the new low.
        bracket[high] = bracket[low]!;
        bracketF[high] = bracketF[low]!;
        bracketG[high] = bracketG[low]!;
        bracketGtd[high] = bracketGtd[low]!;
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew.clone();
      bracketGtd[low] = gtdNew;
    }
  }
  return { f: bracketF[low]!, g: bracketG[low]!, t: bracket[low]!, evals };
}

/** What persists between step() calls (torch keeps the same in state[params[0]]). */
interface LbfgsHistory {
  funcEvals: number;
  nIter: number;
  /** The last search direction (flat), kept. */
  d: Tensor | null;
  /** The last step length. */
  t: number;
  /** Gradient differences y and steps s (flat, kept), oldest first, with ρ = 1/(yᵀs). */
  oldDirs: Tensor[];
  oldStps: Tensor[];
  ro: number[];
  /** Scale of the initial inverse Hessian, yᵀs / yᵀy of the newest pair. */
  hDiag: number;
  /** The flat gradient at the start of the last iteration, kept. */
  prevFlatGrad: Tensor | null;
  prevLoss: number | null;
}

const LBFGS_DEFAULTS: Omit<LBFGSOptions, "maxEval"> = { lr: 1, maxIter: 20, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearch: null };

function emptyHistory(): LbfgsHistory {
  return { funcEvals: 0, nIter: 0, d: null, t: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: null };
}

export class LBFGS {
  readonly kind = "LBFGS";
  /** One group (L-BFGS works on all parameters as one flat vector); its options may be edited. */
  readonly paramGroups: [LBFGSGroup];
  #h: LbfgsHistory = emptyHistory();

  constructor(params: Iterable<Tensor>, options: Partial<LBFGSOptions> = {}) {
    const list = [...params];
    if (list.length === 0) argError("LBFGS", "params", "a non-empty list of tensors", list);
    checkParams("LBFGS", [list]);
    const first = list[0]!;
    for (const p of list) {
      if (p.dtype !== first.dtype || p.device !== first.device) {
        argError("LBFGS", "params", `tensors of one dtype and device (${first.dtype} on ${first.device})`, p);
      }
    }
    const o = { ...LBFGS_DEFAULTS, ...definedOptions(options) };
    const group: LBFGSGroup = { maxEval: Math.floor((o.maxIter * 5) / 4), ...o, params: list };
    this.#check(group);
    this.paramGroups = [group];
  }

  #check(g: LBFGSGroup): void {
    const posInt = (k: "maxIter" | "maxEval" | "historySize"): void => {
      if (!Number.isInteger(g[k]) || g[k] < 1) argError("LBFGS", k, "a positive integer", g[k]);
    };
    if (!(g.lr > 0 && Number.isFinite(g.lr))) argError("LBFGS", "lr", "a finite positive number", g.lr);
    posInt("maxIter");
    posInt("maxEval");
    posInt("historySize");
    if (!(g.toleranceGrad >= 0)) argError("LBFGS", "toleranceGrad", "a non-negative number", g.toleranceGrad);
    if (!(g.toleranceChange >= 0)) argError("LBFGS", "toleranceChange", "a non-negative number", g.toleranceChange);
    if (g.lineSearch !== null && g.lineSearch !== "strongWolfe") argError("LBFGS", "lineSearch", `"strongWolfe" or null`, g.lineSearch);
  }

  get #params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  /** All gradients as one flat vector (zeros for parameters without a gradient). */
  #gatherFlatGrad(): Tensor {
    return tidy(() => cat(this.#params.map((p) => p.grad?.reshape([-1]) ?? zeros([p.numel], { dtype: p.dtype, device: p.device }))));
  }

  /** params += stepSize · update (update flat). */
  #addGrad(stepSize: number, update: Tensor): void {
    tidy(() => {
      let offset = 0;
      for (const p of this.#params) {
        const n = p.numel;
        p.add_(update.narrow(0, offset, n).view(p.shape), stepSize);
        offset += n;
      }
    });
  }

  /** Runs the closure with gradients on; returns the loss as a number (its tensors are freed). */
  #evaluate(closure: () => Tensor): number {
    return tidy(() =>
      enableGrad(() => {
        const loss = closure();
        if (!(loss instanceof Tensor) || loss.numel !== 1) argError("LBFGS.step", "closure", "a function returning the loss as a one-element tensor", loss);
        return loss.item();
      }),
    );
  }

  /** Drops every parameter's gradient (call it in the closure before backward()). */
  zeroGrad(): void {
    for (const p of this.#params) p.grad = null;
  }

  /**
   * Up to maxIter L-BFGS iterations; returns the loss of the first closure evaluation (at the
   * parameters as they were on entry).
   */
  step(closure: () => Tensor): number {
    if (typeof closure !== "function") argError("LBFGS.step", "closure", "a function that re-evaluates the loss and calls backward()", closure);
    const g = this.paramGroups[0];
    this.#check(g);
    return noGrad(() => this.#run(closure, g));
  }

  #run(closure: () => Tensor, group: LBFGSGroup): number {
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearch } = group;
    const h = this.#h;
    const origLoss = this.#evaluate(closure);
    let loss = origLoss;
    let currentEvals = 1;
    h.funcEvals += 1;

    // The current flat gradient is kept across iterations and freed when replaced.
    let flatGrad = keep(this.#gatherFlatGrad());
    const replaceFlatGrad = (next: Tensor): void => {
      keep(next);
      if (next !== flatGrad) flatGrad.dispose();
      flatGrad = next;
    };
    try {
      if (tidy(() => absMax(flatGrad)) <= toleranceGrad) return origLoss;

      let nIter = 0;
      while (nIter < maxIter) {
        nIter += 1;
        h.nIter += 1;
        const stop = tidy((): boolean => {
          // ---- search direction
          let d: Tensor;
          if (h.nIter === 1) {
            d = flatGrad.neg();
            this.#clearHistory();
            h.hDiag = 1;
          } else {
            const y = flatGrad.sub(h.prevFlatGrad!);
            const s = h.d!.mul(h.t);
            const ys = dot(y, s);
            if (ys > 1e-10) {
              if (h.oldDirs.length === historySize) {
                h.oldDirs.shift()!.dispose();
                h.oldStps.shift()!.dispose();
                h.ro.shift();
              }
              h.oldDirs.push(keep(y));
              h.oldStps.push(keep(s));
              h.ro.push(1 / ys);
              h.hDiag = ys / dot(y, y);
            }
            // Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian approximation.
            const num = h.oldDirs.length;
            const al = new Array<number>(num).fill(0);
            const q = flatGrad.neg();
            for (let i = num - 1; i >= 0; i--) {
              al[i] = dot(h.oldStps[i]!, q) * h.ro[i]!;
              q.add_(h.oldDirs[i]!, -al[i]!);
            }
            d = q.mul(h.hDiag);
            for (let i = 0; i < num; i++) {
              const be = dot(h.oldDirs[i]!, d) * h.ro[i]!;
              d.add_(h.oldStps[i]!, al[i]! - be);
            }
          }
          keep(d);
          h.d?.dispose();
          h.d = d;
          if (h.prevFlatGrad === null) h.prevFlatGrad = keep(flatGrad.clone());
          else h.prevFlatGrad.copy_(flatGrad);
          const prevLoss = loss;
          h.prevLoss = prevLoss;

          // ---- step length
          h.t = h.nIter === 1 ? Math.min(1, 1 / flatGrad.abs().sum().item()) * lr : lr;
          const gtd = dot(flatGrad, d);
          if (gtd > -toleranceChange) return true;

          let lsEvals = 0;
          let optimal = false;
          if (lineSearch === "strongWolfe") {
            const xInit = this.#params.map((p) => p.clone());
            const objFunc: DirectionalEvaluate = (x, t, dir) => {
              this.#addGrad(t, dir);
              const l = this.#evaluate(closure);
              const fg = this.#gatherFlatGrad();
              this.#params.forEach((p, i) => p.copy_(x[i]!));
              return [l, fg];
            };
            const r = strongWolfe(objFunc, xInit, h.t, d, loss, flatGrad, gtd);
            loss = r.f;
            h.t = r.t;
            lsEvals = r.evals;
            replaceFlatGrad(r.g);
            this.#addGrad(h.t, d);
            optimal = absMax(flatGrad) <= toleranceGrad;
          } else {
            this.#addGrad(h.t, d);
            if (nIter !== maxIter) {
              // Re-evaluate only if another iteration follows (torch does the same).
              loss = this.#evaluate(closure);
              replaceFlatGrad(this.#gatherFlatGrad());
              optimal = absMax(flatGrad) <= toleranceGrad;
              lsEvals = 1;
            }
          }
          currentEvals += lsEvals;
          h.funcEvals += lsEvals;

          // ---- stopping rules
          if (nIter === maxIter || currentEvals >= maxEval || optimal) return true;
          if (absMax(d.mul(h.t)) <= toleranceChange) return true; // lack of progress in x
          return Math.abs(loss - prevLoss) < toleranceChange; // lack of progress in the loss
        });
        if (stop) break;
      }
      return origLoss;
    } finally {
      flatGrad.dispose();
    }
  }

  #clearHistory(): void {
    for (const t of [...this.#h.oldDirs, ...this.#h.oldStps]) t.dispose();
    this.#h.oldDirs = [];
    this.#h.oldStps = [];
    this.#h.ro = [];
  }

  /** Frees the history; the next step starts afresh (as a new optimizer would). */
  dispose(): void {
    this.#clearHistory();
    this.#h.d?.dispose();
    this.#h.prevFlatGrad?.dispose();
    this.#h = emptyHistory();
  }

  /**
   * The state as JSON plus tensors "state.0.d", "state.0.prev_flat_grad", "state.0.old_dirs.<k>",
   * "state.0.old_stps.<k>" (detached views of the live history, owned by the current scope).
   */
  stateDict(): OptimizerState {
    const h = this.#h;
    const { params, ...options } = this.paramGroups[0];
    const json: OptimizerStateJson = {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      kind: this.kind,
      paramGroups: [{ ...options, params: params.map((_, i) => i) }],
      state: { "0": { funcEvals: h.funcEvals, nIter: h.nIter, t: h.t, ro: [...h.ro], hDiag: h.hDiag, prevLoss: h.prevLoss } },
    };
    const tensors = new Map<string, Tensor>();
    if (h.d !== null) tensors.set("state.0.d", h.d.detach());
    if (h.prevFlatGrad !== null) tensors.set("state.0.prev_flat_grad", h.prevFlatGrad.detach());
    h.oldDirs.forEach((t, k) => tensors.set(`state.0.old_dirs.${k}`, t.detach()));
    h.oldStps.forEach((t, k) => tensors.set(`state.0.old_stps.${k}`, t.detach()));
    return { json, tensors };
  }

  /** Restores options and history from stateDict(); checks sizes first, copies the tensors. */
  loadStateDict(state: OptimizerState): void {
    const name = "LBFGS.loadStateDict";
    const json = state?.json;
    if (typeof json !== "object" || json === null || !(state.tensors instanceof Map)) argError(name, "state", "{ json, tensors } as returned by stateDict()", state);
    if (json.format !== STATE_FORMAT || json.version !== STATE_VERSION || json.kind !== this.kind) {
      throw new TorchError(name, `expected an LBFGS state (format "${STATE_FORMAT}" version ${STATE_VERSION}), got kind ${JSON.stringify(json.kind)} format ${JSON.stringify(json.format)} version ${JSON.stringify(json.version)}`, "");
    }
    const group = json.paramGroups?.[0];
    const s = json.state?.["0"] ?? {};
    const n = this.#params.reduce((a, p) => a + p.numel, 0);
    const problems: string[] = [];
    if (json.paramGroups.length !== 1 || !Array.isArray(group?.params) || group.params.length !== this.#params.length) {
      problems.push(`expected one group of ${this.#params.length} parameter(s)`);
    }
    const num = (v: JsonValue | undefined, what: string): number => {
      if (typeof v !== "number") problems.push(`${what} is ${JSON.stringify(v)}, expected a number`);
      return typeof v === "number" ? v : 0;
    };
    const ro = Array.isArray(s.ro) ? s.ro.map((v, k) => num(v, `ro[${k}]`)) : (problems.push("ro is missing"), []);
    const tensor = (key: string, required: boolean): Tensor | null => {
      const t = state.tensors.get(key);
      if (t === undefined) {
        if (required) problems.push(`tensor "${key}" is missing`);
        return null;
      }
      if (!(t instanceof Tensor) || t.isDisposed || t.shape.length !== 1 || t.shape[0] !== n) {
        problems.push(`tensor "${key}" must be a live 1-d tensor of ${n} elements (all parameters, flat)`);
        return null;
      }
      return t;
    };
    const started = num(s.nIter, "nIter") > 0;
    const d = tensor("state.0.d", started);
    const prev = tensor("state.0.prev_flat_grad", started);
    const dirs = ro.map((_, k) => tensor(`state.0.old_dirs.${k}`, true));
    const stps = ro.map((_, k) => tensor(`state.0.old_stps.${k}`, true));
    const known = new Set(["state.0.d", "state.0.prev_flat_grad", ...ro.flatMap((_, k) => [`state.0.old_dirs.${k}`, `state.0.old_stps.${k}`])]);
    for (const key of state.tensors.keys()) if (!known.has(key)) problems.push(`unexpected tensor "${key}"`);
    const prevLoss = s.prevLoss === null || s.prevLoss === undefined ? null : num(s.prevLoss, "prevLoss");
    const next: LBFGSGroup = { ...this.paramGroups[0] };
    for (const [k, v] of Object.entries(group ?? {})) {
      if (k === "params") continue;
      if (!(k in next)) problems.push(`unknown option "${k}"`);
      else (next as unknown as Record<string, unknown>)[k] = v;
    }
    if (problems.length === 0) {
      try {
        this.#check(next);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) throw new TorchError(name, `${problems.length} problem(s): ${problems.join("; ")}`, "");

    const first = this.#params[0]!;
    const own = (t: Tensor | null): Tensor | null => (t === null ? null : keep(tidy(() => t.toDevice(first.device, first.dtype).clone())));
    this.dispose();
    Object.assign(this.paramGroups[0], next, { params: this.paramGroups[0].params });
    this.#h = {
      funcEvals: num(s.funcEvals, "funcEvals"),
      nIter: num(s.nIter, "nIter"),
      d: own(d),
      t: num(s.t, "t"),
      oldDirs: dirs.map((t) => own(t)!),
      oldStps: stps.map((t) => own(t)!),
      ro,
      hDiag: num(s.hDiag, "hDiag"),
      prevFlatGrad: own(prev),
      prevLoss,
    };
  }
}
