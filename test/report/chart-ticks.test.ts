// Axis ticks: round steps (1, 2, 5 × 10^k), ends on ticks, clean decimal labels, log decades.
import { test } from "node:test";
import assert from "node:assert/strict";
import { logTicks, niceStep, niceTicks } from "../../src/report/chart-ticks.ts";

test("niceStep picks the smallest 1/2/5 × 10^k at or above the rough step", () => {
  const cases: [number, number][] = [[0.07, 0.1], [0.3, 0.5], [1, 1], [1.0000001, 2], [2.5, 5], [7, 10], [0.001, 0.001], [0.0011, 0.002], [1000, 1000], [4.2e7, 5e7]];
  for (const [rough, step] of cases) assert.equal(niceStep(rough), step, `niceStep(${rough})`);
  assert.throws(() => niceStep(0), /positive finite/);
});

test("niceTicks: round values covering the range, exact decimals", () => {
  const t = niceTicks(0, 1, 5);
  assert.deepEqual(t.values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(t.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
  assert.equal(t.min, 0);
  assert.equal(t.max, 1);

  const u = niceTicks(0, 0.3, 5); // step 0.1: 3 × 0.1 must print as 0.3
  assert.deepEqual(u.values, [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(u.labels, ["0", "0.1", "0.2", "0.3"]);

  const v = niceTicks(-2.9844098477981102, 3.0583052764799765, 6); // step 2 → axis widened to [-4, 4]
  assert.deepEqual(v.values, [-4, -2, 0, 2, 4]);
  assert.deepEqual(v.labels, ["-4", "-2", "0", "2", "4"]);

  const w = niceTicks(0.913, 4.27, 5); // rough 0.67 → step 1
  assert.deepEqual(w.values, [0, 1, 2, 3, 4, 5]);
});

test("niceTicks: every value is an integer multiple of a 1/2/5 step, range covered", () => {
  for (const [lo, hi] of [[-0.0123, 0.0456], [3.3, 1234.5], [-7e-6, 2e-6], [100, 100.001], [-1e9, 3e9]] as const) {
    const t = niceTicks(lo, hi, 5);
    assert.ok(t.min <= lo && t.max >= hi, `[${lo}, ${hi}] covered by [${t.min}, ${t.max}]`);
    const step = t.values[1]! - t.values[0]!;
    const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-6), `step ${step} is 1/2/5 × 10^k`);
    for (const v of t.values) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${v} is a multiple of ${step}`);
    assert.ok(t.values.length >= 3 && t.values.length <= 7, `${t.values.length} ticks for [${lo}, ${hi}]`);
  }
});

test("niceTicks: constant data gets an axis; huge and tiny numbers use exponent labels", () => {
  assert.deepEqual(niceTicks(5, 5).values, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]); // widened to [4.5, 5.5], step 0.2
  assert.deepEqual(niceTicks(0, 0).values, [-1, -0.5, 0, 0.5, 1]); // widened to [-1, 1], step 0.5
  assert.deepEqual(niceTicks(1e6, 5e6, 4).labels, ["1e6", "2e6", "3e6", "4e6", "5e6"]);
  assert.deepEqual(niceTicks(0, 3e-5, 3).labels, ["0", "1e-5", "2e-5", "3e-5"]);
  assert.throws(() => niceTicks(1, 0), /lo must be <= hi/);
  assert.throws(() => niceTicks(0, Infinity), /finite/);
});

test("logTicks: decades, with 2× and 5× when the span is short", () => {
  const t = logTicks(0.9, 4.2);
  assert.deepEqual(t.values.slice().sort((a, b) => a - b), [0.1, 0.2, 0.5, 1, 2, 5, 10]);
  assert.equal(t.min, 0.1);
  assert.equal(t.max, 10);
  const wide = logTicks(1e-5, 1e3); // 8 decades: every second power, last one ends the axis
  assert.deepEqual(wide.values, [1e-5, 1e-3, 0.1, 10, 1000]);
  assert.deepEqual(wide.labels, ["1e-5", "0.001", "0.1", "10", "1000"]);
  const one = logTicks(100, 100);
  assert.equal(one.min, 100);
  assert.equal(one.max, 1000);
  assert.throws(() => logTicks(0, 1), /0 < lo/);
});
