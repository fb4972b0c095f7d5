// warmupCosine against values computed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { warmupCosine } from "../../src/torch/optim/index.ts";

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-15, `${a} vs ${b}`);

test("linear warm-up from 0, cosine to minLr, constant after", () => {
  const lr = warmupCosine({ baseLr: 1e-3, warmupSteps: 100, totalSteps: 1100, minLr: 1e-4 });
  close(lr(0), 0);
  close(lr(50), 5e-4);
  close(lr(99), 9.9e-4);
  close(lr(100), 1e-3); // end of warm-up: the peak
  close(lr(350), 1e-4 + 0.9e-3 * 0.5 * (1 + Math.SQRT1_2)); // a quarter of the cosine: cos(π/4)
  close(lr(600), 1e-4 + 0.9e-3 * 0.5); // halfway: midpoint of baseLr and minLr
  close(lr(1100), 1e-4);
  close(lr(5000), 1e-4);
});

test("no warm-up starts at baseLr; minLr defaults to 0", () => {
  const lr = warmupCosine({ baseLr: 2, warmupSteps: 0, totalSteps: 10 });
  close(lr(0), 2);
  close(lr(5), 1);
  close(lr(10), 0);
});

test("bad arguments are named", () => {
  assert.throws(() => warmupCosine({ baseLr: 1, warmupSteps: 10, totalSteps: 5 }), /'totalSteps'.*>= warmupSteps \(10\), got 5/);
  assert.throws(() => warmupCosine({ baseLr: 1, warmupSteps: 1.5, totalSteps: 5 }), /'warmupSteps'/);
  assert.throws(() => warmupCosine({ baseLr: 1, warmupSteps: 1, totalSteps: 5, minLr: 2 }), /'minLr'/);
  assert.throws(() => warmupCosine({ baseLr: 1, warmupSteps: 1, totalSteps: 5 })(-1), /'step'/);
});
