// Argument checks shared by the OOD scorers (ood-scores.ts, mahalanobis.ts, complexity.ts): every
// bad input becomes a RangeError/TypeError naming the function, the argument and what was expected,
// before any native call can abort or return silently wrong numbers.
import { Tensor, tidy } from "../torch/index.ts";
import { isFloating } from "../torch/dtype.ts";

function describe(v: unknown): string {
  return v instanceof Tensor ? `a ${v.dtype} tensor of shape [${v.shape.join(", ")}]` : String(v);
}

/** A floating-point (rows, dim) tensor with rows >= minRows (and the given dim when set), all finite. */
export function checkMatrix(fn: string, name: string, t: unknown, options: { minRows?: number; dim?: number; what?: string } = {}): asserts t is Tensor {
  const minRows = options.minRows ?? 1;
  const what = options.what ?? "(N, D)";
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} must be a ${what} tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new TypeError(`${fn}: ${name} has been disposed`);
  if (t.ndim !== 2) throw new RangeError(`${fn}: ${name} must be a 2-d ${what} tensor, got shape [${t.shape.join(", ")}]`);
  if (!isFloating(t.dtype)) throw new TypeError(`${fn}: ${name} must be a floating-point tensor, got ${t.dtype}`);
  if (t.size(0) < minRows) throw new RangeError(`${fn}: ${name} needs at least ${minRows} row(s), got ${t.size(0)}`);
  if (t.size(1) < 1) throw new RangeError(`${fn}: ${name} needs at least one column, got shape [${t.shape.join(", ")}]`);
  if (options.dim !== undefined && t.size(1) !== options.dim) {
    throw new RangeError(`${fn}: ${name} has ${t.size(1)} features per row, expected ${options.dim} (as the training features)`);
  }
  checkFiniteTensor(fn, name, t);
}

/** Throws when the tensor holds NaN or ±Infinity, naming the first bad row. */
export function checkFiniteTensor(fn: string, name: string, t: Tensor): void {
  const bad = tidy(() => {
    const ok = t.isfinite();
    if (ok.all().item()) return -1;
    const perRow = t.ndim >= 2 ? ok.reshape([t.size(0), -1]) : ok.reshape([-1, 1]);
    const rowBad = perRow.to("int32").sum(1).lt(perRow.size(1)).to("int32"); // 1 where a row has a bad value
    return rowBad.argmax().item(); // the first row with one
  });
  if (bad >= 0) throw new RangeError(`${fn}: ${name} contains NaN or Infinity (first at row ${bad})`);
}

/** A non-empty list of finite numbers, copied into a Float64Array. */
export function checkNumbers(fn: string, name: string, values: ArrayLike<number>): Float64Array {
  if (values === null || values === undefined || typeof values.length !== "number") {
    throw new TypeError(`${fn}: ${name} must be an array of numbers, got ${String(values)}`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${fn}: ${name}[${i}] is ${String(v)}; expected a finite number`);
    out[i] = v;
  }
  return out;
}

/** A positive integer option. */
export function checkPositiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}
