// Integer knobs of the benchmarks from the environment.

/** The positive integer in environment variable `name`, or `fallback` when it is unset or empty. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name}: expected an integer >= 1, got '${v}'`);
  return n;
}
