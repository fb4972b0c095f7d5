// The study's plan is checked before anything runs: every run's config as the trainer would check
// it, so a sweep value that cannot train (α = 0 in a GCRL row, τ = 0) stops the study before the
// first run and before its folder is made.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { planStudy, studyPlanProblems, withCurrentConfigKeys, type StudySettings } from "../../src/study/study-plan.ts";
import { runStudy, StudyError } from "../../src/study/study-runner.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const folder = tempFolder("study-plan");
after(() => folder.cleanup());

function settings(sweep: Partial<StudySettings["sweep"]>): StudySettings {
  return { config: tinyConfig(), configSource: "tiny test config", modes: ["gcrl", "igpt", "simclr"], sweep: { alpha: null, beta: null, tau: null, ...sweep }, eval: {} };
}

test("studyPlanProblems: none for a valid plan; one line per bad run, naming the run and the key", () => {
  assert.deepEqual(studyPlanProblems(planStudy(settings({ alpha: [0.5, 2], tau: [0.2] }))), []);
  const problems = studyPlanProblems(planStudy(settings({ alpha: [0, 1], tau: [0, 0.1] })));
  assert.deepEqual(problems.map((p) => p.slice(0, p.indexOf(":", p.indexOf(":") + 1))), [
    "run gcrl-a0-b1-t0: objective.tau",
    "run gcrl-a0-b1-t0: objective.alpha",
    "run gcrl-a0-b1-t0.1: objective.alpha",
    "run gcrl-a1-b1-t0: objective.tau",
  ]);
  assert.match(problems[0]!, /^run gcrl-a0-b1-t0: objective\.tau: expected a positive number, got 0$/);
  assert.match(problems[1]!, /^run gcrl-a0-b1-t0: objective\.alpha: must be > 0: mode "gcrl" trains the generative loss/);
});

test("runStudy refuses a plan with a run that cannot train before it writes or trains anything", async () => {
  const out = join(folder.dir, "refused");
  const lines: string[] = [];
  const started = performance.now();
  await assert.rejects(
    runStudy(settings({ beta: [1, 0] }), { out, log: (l) => lines.push(l) }),
    (err: unknown) => err instanceof StudyError && /^run gcrl-a1-b0-t0\.1: objective\.beta: must be > 0/.test(err.message),
  );
  assert.ok(performance.now() - started < 5000, "refused at once, not after training the first run");
  assert.equal(existsSync(out), false, "no study folder");
  assert.deepEqual(lines, []);
});

test("withCurrentConfigKeys: a study state written before a config key existed reads it as its default", () => {
  const current = settings({ alpha: [0.5] });
  const old = JSON.parse(JSON.stringify(current)) as StudySettings;
  delete (old.config.objective as Partial<StudySettings["config"]["objective"]>).generativeReduction;
  assert.notDeepEqual(old, current);
  assert.deepEqual(withCurrentConfigKeys(old), current);
  // A stored config that no longer resolves is returned as it is, for the comparison to name.
  const broken = JSON.parse(JSON.stringify(current)) as StudySettings;
  (broken.config.model as unknown as Record<string, unknown>).d = "wide";
  assert.equal(withCurrentConfigKeys(broken), broken);
});
