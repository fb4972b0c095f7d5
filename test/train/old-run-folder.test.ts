// A run folder written by gcrl before the settings were declared on zod (commit 66db39a: `gcrl train
// … --steps 4 --model.d 8 …`, kept in test/fixtures/run-before-settings/) still loads, evaluates
// and resumes with today's code: what a user's existing runs need from any change to the config.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRun } from "../../src/train/load-run.ts";
import { readMetrics, RUN_FILES } from "../../src/train/run-folder.ts";
import { resolveRunConfig } from "../../src/train/run-config-validate.ts";
import { tempFolder } from "./trainer-fixtures.ts";

const FIXTURE = "test/fixtures/run-before-settings";
const tmp = tempFolder("old-run");
after(() => tmp.cleanup());

function gcrl(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/gcrl.js", ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("an older run folder loads: its stored config resolves to itself", () => {
  const stored = JSON.parse(readFileSync(join(FIXTURE, RUN_FILES.config), "utf8")) as { config: unknown };
  assert.deepEqual(resolveRunConfig(stored.config, "stored"), stored.config);
  const run = loadRun(FIXTURE);
  try {
    assert.equal(run.step, 4);
    assert.equal(run.modelConfig.d, 8);
    assert.equal(run.config.objective.mode, "gcrl");
  } finally {
    run.model.dispose();
    run.palette.dispose();
  }
});

test("an older run folder evaluates (gcrl eval knn) and resumes (gcrl train --resume --steps 6)", () => {
  const dir = join(tmp.dir, "run");
  cpSync(FIXTURE, dir, { recursive: true });
  const ev = gcrl("eval", "knn", "--run", dir, "--train-images", "64", "--test-images", "32");
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout + ev.stderr, /kNN/);
  const resumed = gcrl("train", "--resume", dir, "--steps", "6");
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming .* at step 4/);
  const steps = readMetrics(join(dir, RUN_FILES.metrics)).filter((r) => r.kind === "train").map((r) => r.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
});
