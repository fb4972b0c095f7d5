// Numeric comparison for tests: every element within tol · max(1, |expected|) (relative for large
// values, absolute for small ones); failures print the largest difference and where it occurred.
import assert from "node:assert/strict";
import type { Tensor } from "../../src/torch/index.ts";

export function assertClose(actual: Tensor | number[] | number, expected: number[] | number, tol: number, what = "values"): void {
  const a = typeof actual === "number" ? [actual] : Array.isArray(actual) ? actual : actual.toArray();
  const e = typeof expected === "number" ? [expected] : expected;
  assert.equal(a.length, e.length, `${what}: got ${a.length} elements, expected ${e.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - e[i]!) / Math.max(1, Math.abs(e[i]!));
    if (!(err <= worstErr)) {
      worstErr = Number.isNaN(err) ? Infinity : err;
      worst = i;
    }
  }
  assert.ok(
    worstErr <= tol,
    `${what}: largest difference ${worstErr.toExponential(3)} > ${tol} at [${worst}]: got ${a[worst]}, expected ${e[worst]}`,
  );
}
