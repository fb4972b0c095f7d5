// Learning-rate schedules: functions from the step number (0-based) to a learning rate.

export interface WarmupCosineOptions {
  /** The peak learning rate, reached at the end of the warm-up. */
  baseLr: number;
  /** Steps of linear warm-up from 0 (step 0) to baseLr (step warmupSteps). */
  warmupSteps: number;
  /** The step at which the cosine decay reaches minLr. */
  totalSteps: number;
  /** The floor, held from totalSteps on (default 0). */
  minLr?: number;
}

/**
 * Linear warm-up then half-cosine decay:
 *   step < warmup:          baseLr · step / warmup
 *   warmup <= step < total: minLr + (baseLr − minLr) · ½(1 + cos(π · (step − warmup) / (total − warmup)))
 *   step >= total:          minLr
 */
export function warmupCosine(options: WarmupCosineOptions): (step: number) => number {
  const { baseLr, warmupSteps, totalSteps } = options;
  const minLr = options.minLr ?? 0;
  const fail = (arg: string, expected: string, got: unknown): never => {
    throw new RangeError(`warmupCosine: argument '${arg}' must be ${expected}, got ${String(got)}`);
  };
  if (!(Number.isFinite(baseLr) && baseLr >= 0)) fail("baseLr", "a finite non-negative number", baseLr);
  if (!(Number.isFinite(minLr) && minLr >= 0 && minLr <= baseLr)) fail("minLr", `a number in [0, baseLr = ${baseLr}]`, minLr);
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) fail("warmupSteps", "a non-negative integer", warmupSteps);
  if (!(Number.isInteger(totalSteps) && totalSteps >= warmupSteps)) fail("totalSteps", `an integer >= warmupSteps (${warmupSteps})`, totalSteps);
  return (step: number): number => {
    if (!(Number.isFinite(step) && step >= 0)) fail("step", "a finite non-negative number", step);
    if (step < warmupSteps) return (baseLr * step) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + (baseLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
