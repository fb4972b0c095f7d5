// Axis ticks at round numbers for the SVG charts.
//
// Linear axes use the "nice numbers" rule: the step is 1, 2 or 5 × 10^k, the smallest such step with
// at most `target` intervals over [lo, hi]; the axis then runs from floor(lo/step)·step to
// ceil(hi/step)·step so the first and last ticks sit on the axis ends. Tick values are k·step rounded
// to the step's decimals (so 3 × 0.1 prints as 0.3, not 0.30000000000000004).
// Log axes put ticks at powers of ten (and at 2× and 5× within a span of at most two decades).

/** Ticks of one axis: the axis runs from `min` to `max`; `values[i]` is labelled `labels[i]`. */
export interface Ticks {
  min: number;
  max: number;
  values: number[];
  labels: string[];
  /** true: the axis is logarithmic (base 10), min > 0. */
  log: boolean;
}

/** The smallest 1, 2 or 5 × 10^k that is >= rough (rough > 0, finite). */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) throw new RangeError(`niceStep: expected a positive finite number, got ${rough}`);
  let exp = Math.floor(Math.log10(rough));
  const pow = (e: number): number => (e >= 0 ? 10 ** e : 1 / 10 ** -e);
  // log10 can be off by one ulp near exact powers of ten
  if (pow(exp) > rough) exp -= 1;
  else if (pow(exp + 1) <= rough) exp += 1;
  const f = rough / pow(exp);
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return exp >= 0 ? m * 10 ** exp : m / 10 ** -exp;
}

/** Decimal places needed to print multiples of a nice step exactly. */
function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** A tick value as text: fixed decimals, or exponent form for very large/small magnitudes. */
export function formatTick(value: number, decimals: number, exponential: boolean): string {
  if (value === 0) return "0";
  if (exponential) {
    const [mant, exp] = value.toExponential(6).split("e") as [string, string];
    const m = String(Number(mant)); // trims trailing zeros
    return `${m}e${Number(exp)}`;
  }
  const s = value.toFixed(decimals);
  return s === "-0" || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/**
 * Linear ticks covering [lo, hi] with at most about `target` intervals. lo == hi is widened by 10%
 * of |lo| (or ±1 around 0) so a constant series still gets an axis.
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: the range must be finite, got [${lo}, ${hi}]`);
  if (lo > hi) throw new RangeError(`niceTicks: lo must be <= hi, got [${lo}, ${hi}]`);
  if (!Number.isInteger(target) || target < 1) throw new RangeError(`niceTicks: target must be a positive integer, got ${target}`);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / target);
  const decimals = stepDecimals(step);
  const kMin = Math.floor(lo / step + 1e-9);
  const kMax = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let k = kMin; k <= kMax; k++) values.push(Number((k * step).toFixed(decimals)));
  const big = Math.max(Math.abs(values[0]!), Math.abs(values[values.length - 1]!));
  const exponential = big >= 1e6 || step < 1e-4;
  return { min: values[0]!, max: values[values.length - 1]!, values, labels: values.map((v) => formatTick(v, decimals, exponential)), log: false };
}

/** Log-10 ticks covering [lo, hi], 0 < lo <= hi. */
export function logTicks(lo: number, hi: number): Ticks {
  if (!(lo > 0) || !Number.isFinite(hi) || lo > hi) throw new RangeError(`logTicks: expected 0 < lo <= hi < ∞, got [${lo}, ${hi}]`);
  const eps = 1e-9;
  const eMin = Math.floor(Math.log10(lo) + eps);
  let eMax = Math.ceil(Math.log10(hi) - eps);
  if (eMin === eMax) eMax += 1; // lo = hi = an exact power of ten: give the axis one decade
  const every = Math.max(1, Math.ceil((eMax - eMin) / 6));
  eMax = eMin + Math.ceil((eMax - eMin) / every) * every; // the last labelled power ends the axis
  const decades = eMax - eMin;
  const pow = (e: number): number => (e >= 0 ? 10 ** e : 1 / 10 ** -e);
  const values: number[] = [];
  const labels: string[] = [];
  const label = (m: number, e: number): string => (e >= -3 && e <= 5 ? formatTick(m * pow(e), Math.max(0, -e), false) : `${m}e${e}`);
  for (let e = eMin; e <= eMax; e++) {
    if ((e - eMin) % every === 0) {
      values.push(pow(e));
      labels.push(label(1, e));
    }
    if (decades <= 2 && e < eMax) {
      for (const m of [2, 5]) {
        values.push(m * pow(e));
        labels.push(label(m, e));
      }
    }
  }
  return { min: pow(eMin), max: pow(eMax), values, labels, log: true };
}
