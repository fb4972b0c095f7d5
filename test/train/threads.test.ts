// train.threads against the cores (src/train/threads.ts): refused below 1 and above 4 × the cores
// (a RunConfigError naming the key and the bound), a warning above the cores, nothing for unset.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkThreads, threadsWarning, MAX_THREADS_PER_CORE } from "../../src/train/threads.ts";
import { RunConfigError } from "../../src/train/run-config-validate.ts";

test("checkThreads: 1 .. 4 × cores pass; 0, fractions and more are refused naming the key and the bound", () => {
  for (const ok of [null, 1, 2, 8]) checkThreads(ok, 2);
  assert.equal(MAX_THREADS_PER_CORE, 4);
  for (const bad of [0, -1, 1.5, 9, 1000]) {
    assert.throws(() => checkThreads(bad, 2), (err: unknown) => {
      assert.ok(err instanceof RunConfigError);
      assert.match(err.message, new RegExp(`^train\\.threads \\(--threads\\): expected an integer in \\[1, 8\\] \\(4 × the 2 cores of os\\.availableParallelism\\(\\)\\), got ${bad}: `));
      return true;
    });
  }
});

test("threadsWarning: above the cores only", () => {
  assert.equal(threadsWarning(null, 2), null);
  assert.equal(threadsWarning(2, 2), null);
  assert.match(threadsWarning(3, 2)!, /^warning: train\.threads 3 is more than the 2 cores \(os\.availableParallelism\(\)\)/);
});
