// The trainer in-process (src/train/trainer.ts): the run folder and its files, bit-exact resume
// after an abort and after a crash, refusing to overwrite a run or change its config on resume,
// flat memory, loadRun, the three modes and the minutes budget. Tiny model, real Fashion-MNIST
// (test/train/trainer-fixtures.ts). The command-line side (SIGINT, NaN, bad config) is in
// trainer-cli.test.ts.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors, readSafetensorsHeader } from "../../src/torch/index.ts";
import { train, NonFiniteLossError, type RunResult, type TrainProgress, type RunConfigFile } from "../../src/train/trainer.ts";
import { loadRun } from "../../src/train/load-run.ts";
import { RunFolderError, readMetrics, RUN_FILES } from "../../src/train/run-folder.ts";
import { resolveRunConfig } from "../../src/train/run-config-validate.ts";
import { planBudget, estimateScheduleSteps, calibrationSteps } from "../../src/train/budget.ts";
import { causalMask } from "../../src/model/attention.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";
import { differingTensors, tempFolder, tinyConfig, withoutTiming } from "./trainer-fixtures.ts";

const tmp = tempFolder("trainer");
after(() => tmp.cleanup());

/** The reference: 12 steps without interruption (shared by the resume tests). */
const straight = join(tmp.dir, "straight");
let straightResult: RunResult;
const liveAtStep: number[] = [];
let liveBefore = 0;
let liveAfter = 0;

before(async () => {
  causalMask(28, "cpu"); // attention's mask cache is kept by design: fill it before counting
  countLiveTensors();
  liveBefore = liveTensorCount();
  straightResult = await train(tinyConfig(), {
    out: straight,
    log: null,
    onProgress: () => {
      liveAtStep.push(liveTensorCount());
    },
  });
  liveAfter = liveTensorCount();
});

describe("trainer: run folder", () => {
  test("a completed run holds every file, and the result reports the budget", () => {
    assert.equal(straightResult.status, "completed");
    assert.equal(straightResult.step, 12);
    assert.equal(straightResult.scheduleSteps, 12);
    const files = readdirSync(straight).sort();
    assert.deepEqual(files, Object.values(RUN_FILES).sort(), "exactly the run files, no temporaries");
    assert.equal(straightResult.lastEval?.step, 12);
    assert.ok(straightResult.lastEval!.testNll! > 0 && straightResult.lastEval!.testNll! < Math.log(16) + 0.5, `test NLL ${straightResult.lastEval!.testNll}`);
    assert.ok(straightResult.lastEval!.knnAccuracy! >= 0 && straightResult.lastEval!.knnAccuracy! <= 1);
  });

  test("config.json holds the resolved config (which resolves to itself), the model config, version and data", () => {
    const file = JSON.parse(readFileSync(join(straight, RUN_FILES.config), "utf8")) as RunConfigFile;
    assert.equal(file.format, "gcrl.run");
    assert.equal(file.gcrl, JSON.parse(readFileSync("package.json", "utf8")).version);
    assert.deepEqual(file.config, tinyConfig());
    assert.deepEqual(resolveRunConfig(file.config, "config.json"), file.config);
    assert.deepEqual(
      { h: file.model.height, w: file.model.width, k: file.model.vocabSize, d: file.model.d },
      { h: 28, w: 28, k: 16, d: 16 },
    );
    assert.deepEqual(file.data.imageShape, [28, 28, 1]);
    assert.equal(file.data.train.images, 128);
    assert.equal(file.data.eval.images, 32);
    assert.deepEqual(file.evaluation.knn, { k: 20, temperature: 0.07, trainImages: 128 });
  });

  test("metrics.jsonl: a train line every logEvery steps, an eval line every evalEvery steps", () => {
    const lines = readFileSync(join(straight, RUN_FILES.metrics), "utf8").trimEnd().split("\n");
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const trainSteps = records.filter((r) => r.kind === "train").map((r) => r.step);
    const evalSteps = records.filter((r) => r.kind === "eval").map((r) => r.step);
    assert.deepEqual(trainSteps, [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(evalSteps, [6, 12]);
    for (const r of records.filter((r) => r.kind === "train")) {
      for (const key of ["epoch", "lr", "loss", "generative", "generativeBitsPerDim", "contrastive", "contrastiveAccuracy", "imagesPerSecond", "elapsed"]) {
        assert.equal(typeof r[key], "number", `${key} in ${JSON.stringify(r)}`);
      }
      assert.ok(Math.abs((r.generativeBitsPerDim as number) - (r.generative as number) / Math.LN2) < 1e-9);
    }
    for (const r of records.filter((r) => r.kind === "eval")) {
      for (const key of ["testNll", "testBitsPerDim", "knnAccuracy"]) assert.equal(typeof r[key], "number", `${key} in ${JSON.stringify(r)}`);
    }
    assert.equal(records.at(-1)!.step, 12);
    assert.equal(readMetrics(join(straight, RUN_FILES.metrics)).length, records.length);
  });

  test("the checkpoint: one file with weights, optimizer moments, RNG and the state; checkpoint.json mirrors it", () => {
    const header = readSafetensorsHeader(join(straight, RUN_FILES.checkpoint));
    const names = header.entries.map((e) => e.name);
    assert.ok(names.includes("model/tok.weight") && names.includes("rng"));
    assert.ok(names.some((n) => /^optimizer\/state\.\d+\.exp_avg$/.test(n)) && names.some((n) => /^optimizer\/state\.\d+\.exp_avg_sq$/.test(n)));
    assert.equal(header.metadata.format, "gcrl.checkpoint");
    assert.equal(header.metadata.step, "12");
    const state = JSON.parse(header.metadata.state!) as { step: number; position: { epoch: number; batch: number } };
    assert.equal(state.step, 12);
    assert.deepEqual(state.position, { epoch: 0, batch: 12 }); // 128 images / batch 8 = 16 batches per epoch
    const mirror = JSON.parse(readFileSync(join(straight, RUN_FILES.checkpointJson), "utf8")) as unknown;
    assert.deepEqual(mirror, JSON.parse(header.metadata.state!));
    // model.safetensors: the same weights, plain keys.
    const model = loadSafetensors(join(straight, RUN_FILES.model));
    const ckpt = loadSafetensors(join(straight, RUN_FILES.checkpoint));
    assert.equal(model.metadata.step, "12");
    for (const [k, t] of model.tensors) assert.deepEqual(t.toArray(), ckpt.tensors.get(`model/${k}`)!.toArray(), k);
  });

  test("train.log has the parameter count, the plain lines and the final line", () => {
    const log = readFileSync(join(straight, RUN_FILES.log), "utf8");
    assert.match(log, /model: GCRLModel axial 28x28 K=16 d=16 heads=2 enc=1 dec=1: 11\.9K parameters/);
    assert.match(log, /step 12\/12 +epoch 0\.75 +loss \d/);
    assert.match(log, /eval @ step 12: test NLL [\d.]+ nats \([\d.]+ bits\/dim\), kNN accuracy [\d.]+%/);
    assert.match(log, /done: step 12/);
  });

  test("memory stays flat: the same live tensors after every step, none left after the run", () => {
    assert.equal(liveAtStep.length, 12);
    const steady = liveAtStep.slice(1);
    assert.ok(steady.every((n) => n === steady[0]), `live tensors per step: ${liveAtStep.join(", ")}`);
    assert.equal(liveAfter, liveBefore, "tensors leaked by train()");
  });

  test("an existing run is never overwritten", async () => {
    await assert.rejects(train(tinyConfig(), { out: straight, log: null }), (err: Error) => {
      assert.ok(err instanceof RunFolderError);
      assert.match(err.message, /already holds a run .*gcrl train --resume .*straight/);
      return true;
    });
    assert.equal(readMetrics(join(straight, RUN_FILES.metrics)).at(-1)!.step, 12, "untouched");
  });

  test("loadRun: config, palette, metrics and the final weights in eval mode", () => {
    const run = loadRun(straight);
    try {
      assert.equal(run.model.training, false);
      assert.equal(run.step, 12);
      assert.deepEqual(run.config, tinyConfig());
      assert.equal(run.palette.k, 16);
      assert.equal(run.metrics.length, 8);
      const saved = loadSafetensors(join(straight, RUN_FILES.model)).tensors;
      for (const [k, t] of run.model.stateDict()) assert.deepEqual(t.toArray(), saved.get(k)!.toArray(), k);
    } finally {
      run.model.dispose();
      run.palette.dispose();
    }
  });
});

describe("trainer: exact resume", () => {
  test("aborted at step 7 and resumed: bit-identical weights and the same metrics as the uninterrupted run", async () => {
    const dir = join(tmp.dir, "aborted");
    const controller = new AbortController();
    const first = await train(tinyConfig(), {
      out: dir, log: null, signal: controller.signal,
      onProgress: (p: TrainProgress) => {
        if (p.step === 7) controller.abort();
      },
    });
    assert.equal(first.status, "interrupted");
    assert.equal(first.step, 7, "the step in flight finishes, no more");
    assert.match(readFileSync(join(dir, RUN_FILES.log), "utf8"), /interrupted at step 7 .*resume with gcrl train --resume/);
    const second = await train(tinyConfig(), { out: dir, log: null, resume: true });
    assert.equal(second.status, "completed");
    assert.equal(second.step, 12);
    assert.deepEqual(differingTensors(join(straight, RUN_FILES.model), join(dir, RUN_FILES.model)), []);
    assert.deepEqual(readMetrics(join(dir, RUN_FILES.metrics)).map(withoutTiming), readMetrics(join(straight, RUN_FILES.metrics)).map(withoutTiming));
    const file = JSON.parse(readFileSync(join(dir, RUN_FILES.config), "utf8")) as RunConfigFile;
    assert.deepEqual(file.resumes.map((r) => r.step), [7]);
  });

  test("crashed after step 6 (checkpoint at 4) and resumed: metrics after step 4 dropped and redone, weights bit-identical", async () => {
    const dir = join(tmp.dir, "crashed");
    await assert.rejects(
      train(tinyConfig(), {
        out: dir, log: null,
        onProgress: (p) => {
          if (p.step === 6) throw new Error("simulated crash");
        },
      }),
      /simulated crash/,
    );
    // The crash left metrics up to step 6 but a checkpoint at step 4 only.
    assert.equal(JSON.parse(readFileSync(join(dir, RUN_FILES.checkpointJson), "utf8")).step, 4);
    assert.deepEqual(readMetrics(join(dir, RUN_FILES.metrics)).map((r) => `${r.kind} ${r.step}`), ["train 2", "train 4", "train 6", "eval 6"]);
    const resumed = await train(tinyConfig(), { out: dir, log: null, resume: true });
    assert.equal(resumed.step, 12);
    assert.deepEqual(differingTensors(join(straight, RUN_FILES.model), join(dir, RUN_FILES.model)), []);
    assert.deepEqual(differingTensors(join(straight, RUN_FILES.checkpoint), join(dir, RUN_FILES.checkpoint)), []);
    assert.deepEqual(readMetrics(join(dir, RUN_FILES.metrics)).map(withoutTiming), readMetrics(join(straight, RUN_FILES.metrics)).map(withoutTiming));
  });

  test("resuming with a changed config (other than the budget) is refused, naming the keys", async () => {
    const changed = tinyConfig((c) => {
      c.model.d = 32;
      c.train.batchSize = 4;
      c.budget.steps = 20;
    });
    await assert.rejects(train(changed, { out: straight, log: null, resume: true }), (err: Error) => {
      assert.ok(err instanceof RunFolderError);
      assert.match(err.message, /only the budget .* can change/);
      assert.match(err.message, /model\.d \(16 in the run, 32 given\)/);
      assert.match(err.message, /train\.batchSize \(8 in the run, 4 given\)/);
      assert.doesNotMatch(err.message, /budget\.steps/);
      return true;
    });
  });

  test("resuming a completed run with the same budget does nothing", async () => {
    const before = readFileSync(join(straight, RUN_FILES.metrics), "utf8");
    const r = await train(tinyConfig(), { out: straight, log: null, resume: true });
    assert.equal(r.status, "completed");
    assert.equal(r.step, 12);
    assert.equal(readFileSync(join(straight, RUN_FILES.metrics), "utf8"), before);
  });
});

describe("trainer: modes, NaN, budgets", () => {
  test("igpt and simclr: the losses of the mode only; simclr has no test NLL", async () => {
    for (const mode of ["igpt", "simclr"] as const) {
      const dir = join(tmp.dir, mode);
      const r = await train(tinyConfig((c) => {
        c.objective.mode = mode;
        c.budget.steps = 3;
        c.train.logEvery = 1;
      }), { out: dir, log: null });
      const last = readMetrics(join(dir, RUN_FILES.metrics)).filter((m) => m.kind === "train").at(-1)!;
      if (mode === "igpt") {
        assert.equal(last.contrastive, null);
        assert.equal(typeof last.generative, "number");
        assert.equal(typeof r.lastEval!.testNll, "number");
      } else {
        assert.equal(last.generative, null);
        assert.equal(typeof last.contrastive, "number");
        assert.equal(r.lastEval!.testNll, null);
        assert.equal(typeof r.lastEval!.knnAccuracy, "number");
      }
    }
  });

  test("a NaN loss stops the run at the failing step without saving it (library side)", async () => {
    const dir = join(tmp.dir, "nan");
    const config = tinyConfig((c) => {
      c.optim.lr = 1e6; // AdamW moves every weight by ~lr on its first step: the second step's loss is NaN
      c.optim.warmupSteps = 0;
      c.optim.gradClip = 0;
      c.train.checkpointEvery = 1;
      c.train.logEvery = 1;
    });
    await assert.rejects(train(config, { out: dir, log: null }), (err: Error) => {
      assert.ok(err instanceof NonFiniteLossError, String(err));
      assert.equal(err.step, 2);
      assert.equal(err.quantity, "generative loss");
      assert.ok(Number.isNaN(err.value));
      assert.equal(err.checkpointStep, 1);
      assert.match(err.message, /the generative loss was NaN at step 2; stopped without saving\. The last good checkpoint \(step 1\) is kept/);
      return true;
    });
    assert.equal(JSON.parse(readFileSync(join(dir, RUN_FILES.checkpointJson), "utf8")).step, 1);
    assert.deepEqual(readMetrics(join(dir, RUN_FILES.metrics)).map((r) => r.step), [1]);
    assert.match(readFileSync(join(dir, RUN_FILES.log), "utf8"), /error: the generative loss was NaN at step 2/);
  });

  test("a minutes budget estimates the schedule from the first steps and stops on time", async () => {
    const dir = join(tmp.dir, "minutes");
    const r = await train(tinyConfig((c) => {
      c.budget = { steps: null, epochs: null, minutes: 0.04 }; // 2.4 s
      c.optim.warmupSteps = 3;
      c.train.evalEvery = 0;
    }), { out: dir, log: null });
    assert.equal(r.status, "completed");
    assert.ok(r.scheduleSteps !== null && r.scheduleSteps >= 4, `schedule ${r.scheduleSteps}`);
    assert.ok(r.step >= 3, `steps ${r.step}`);
    assert.ok(r.elapsedSeconds >= 2.4, `elapsed ${r.elapsedSeconds}`);
    assert.match(readFileSync(join(dir, RUN_FILES.log), "utf8"), /schedule: \d+ steps estimated for the 0\.04-minute budget/);
  });

  test("planBudget: the first limit reached stops the run; epochs count whole batches", () => {
    assert.deepEqual(planBudget({ steps: 100, epochs: null, minutes: null }, 16), { stepLimit: 100, secondsLimit: null, scheduleSteps: 100 });
    assert.deepEqual(planBudget({ steps: 100, epochs: 2, minutes: null }, 16), { stepLimit: 32, secondsLimit: null, scheduleSteps: 32 });
    assert.deepEqual(planBudget({ steps: null, epochs: 0.5, minutes: 3 }, 16), { stepLimit: 8, secondsLimit: 180, scheduleSteps: 8 });
    assert.deepEqual(planBudget({ steps: null, epochs: null, minutes: 3 }, 16), { stepLimit: null, secondsLimit: 180, scheduleSteps: null });
    assert.throws(() => planBudget({ steps: null, epochs: null, minutes: null }, 16), /give at least one of budget\.steps/);
    assert.equal(calibrationSteps(500), 20);
    assert.equal(calibrationSteps(0), 1);
    assert.equal(estimateScheduleSteps(20, 10, 60, 500), 620);
    assert.equal(estimateScheduleSteps(20, 10, 60, 1000), 1000);
  });
});

test("the trainer writes no stray files into the working folder", () => {
  assert.equal(existsSync("metrics.jsonl"), false);
});
