// `gcrl train` as a user runs it (node bin/gcrl.js train …, a real child process): SIGINT saves a
// checkpoint and exits 130 and --resume --steps finishes the run; a NaN loss exits 1 keeping the
// last good checkpoint; bad configs exit 2 naming the key (--threads out of range included; more
// threads than cores warn); existing runs are not overwritten; a changed config on resume is
// refused; --help lists every option and config key with its default.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readMetrics, RUN_FILES } from "../../src/train/run-folder.ts";
import { describeOptions } from "../../src/train/run-config-validate.ts";
import { TINY_OVERRIDES, tempFolder } from "./trainer-fixtures.ts";

const tmp = tempFolder("trainer-cli");
after(() => tmp.cleanup());
const tinyFile = join(tmp.dir, "tiny.json");
writeFileSync(tinyFile, JSON.stringify(TINY_OVERRIDES, null, 2));

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function gcrl(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>): Promise<Finished> {
  const child = spawn(process.execPath, ["bin/gcrl.js", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return (async () => {
    if (whileRunning) {
      try {
        await whileRunning(child);
      } catch (err) {
        child.kill("SIGKILL");
        throw err;
      }
    }
    return done;
  })();
}

const state = (dir: string): { step: number } => JSON.parse(readFileSync(join(dir, RUN_FILES.checkpointJson), "utf8")) as { step: number };

test("SIGINT: the step finishes, a checkpoint is saved, exit 130; --resume --steps finishes the run", async () => {
  const dir = join(tmp.dir, "sigint");
  const metrics = join(dir, RUN_FILES.metrics);
  const first = await gcrl(
    ["train", "--config", tinyFile, "--out", dir, "--steps", "100000", "--train.logEvery", "1", "--train.checkpointEvery", "1000", "--train.evalEvery", "0"],
    async (child) => {
      const deadline = Date.now() + 60_000;
      while (!(existsSync(metrics) && readFileSync(metrics, "utf8").split("\n").length > 3)) {
        if (Date.now() > deadline) throw new Error("no metrics after 60 s");
        if (child.exitCode !== null) throw new Error(`gcrl exited early with ${child.exitCode}`);
        await sleep(50);
      }
      child.kill("SIGINT");
    },
  );
  assert.equal(first.code, 130, `exit code; stderr: ${first.stderr}`);
  assert.match(first.stderr, /SIGINT: finishing the current step and saving a checkpoint/);
  const step = state(dir).step;
  assert.ok(step >= 3 && step < 100000, `checkpoint at step ${step}`);
  assert.match(first.stdout, new RegExp(`interrupted at step ${step} .*resume with gcrl train --resume ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  assert.match(readFileSync(join(dir, RUN_FILES.log), "utf8"), new RegExp(`interrupted at step ${step}`));
  assert.equal(readMetrics(metrics).at(-1)!.step, step, "metrics end at the checkpoint's step");

  const second = await gcrl(["train", "--resume", dir, "--steps", String(step + 3)]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`resuming .* at step ${step}`));
  assert.equal(state(dir).step, step + 3);
  const records = readMetrics(metrics);
  assert.deepEqual(records.filter((r) => r.kind === "train").map((r) => r.step), Array.from({ length: step + 3 }, (_, i) => i + 1));
  assert.deepEqual(records.filter((r) => r.kind === "eval").map((r) => r.step), [step + 3]);
  const config = JSON.parse(readFileSync(join(dir, RUN_FILES.config), "utf8")) as { config: { budget: unknown }; resumes: { step: number; command: string[] }[] };
  assert.deepEqual(config.config.budget, { epochs: null, steps: step + 3, minutes: null });
  assert.deepEqual(config.resumes.map((r) => r.step), [step]);
  assert.deepEqual(config.resumes[0]!.command, ["gcrl", "train", "--resume", dir, "--steps", String(step + 3)]);
});

test("a NaN loss: exit 1, the message names the step and the loss, the last good checkpoint is kept", async () => {
  const dir = join(tmp.dir, "nan");
  const r = await gcrl(["train", "--config", tinyFile, "--out", dir, "--steps", "6", "--lr", "1e6", "--optim.warmupSteps", "0", "--optim.gradClip", "0", "--train.checkpointEvery", "1", "--train.logEvery", "1"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /gcrl train: the generative loss was NaN at step 2; stopped without saving\. The last good checkpoint \(step 1\) is kept/);
  assert.equal(state(dir).step, 1);
  assert.ok(readMetrics(join(dir, RUN_FILES.metrics)).every((m) => m.step <= 1));
});

test("bad configs exit 2 with the key path, before anything is written", async () => {
  const unknownKey = join(tmp.dir, "unknown-key.json");
  writeFileSync(unknownKey, JSON.stringify({ model: { d: 16, hedas: 2 } }));
  const wrongType = join(tmp.dir, "wrong-type.json");
  writeFileSync(wrongType, JSON.stringify({ train: { batchSize: "big" } }));
  const cases: [string[], RegExp][] = [
    [["--config", unknownKey], /unknown-key\.json: model\.hedas: unknown key; did you mean model\.heads\?/],
    [["--config", wrongType], /wrong-type\.json: train\.batchSize: /],
    [["--config", tinyFile, "--optim.lr", "fast"], /--optim\.lr: expected a number, got 'fast'/],
    [["--config", tinyFile, "--threads", "0"], /--threads: expected null or an integer >= 1, got 0/],
    [["--config", tinyFile, "--threads", "1000"], new RegExp(`train\\.threads \\(--threads\\): expected an integer in \\[1, ${4 * availableParallelism()}\\] \\(4 × the ${availableParallelism()} cores .*got 1000`)],
  ];
  for (const [args, message] of cases) {
    const out = join(tmp.dir, "never-written");
    const r = await gcrl(["train", ...args, "--out", out]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false, "nothing written");
  }
});

test("more threads than cores: a warning, and the run goes on", async () => {
  const threads = availableParallelism() + 1;
  const r = await gcrl(["train", "--config", tinyFile, "--out", join(tmp.dir, "threads"), "--steps", "1", "--threads", String(threads), "--train.evalEvery", "0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`warning: train\\.threads ${threads} is more than the ${threads - 1} cores .*slower, not faster`));
  assert.match(r.stdout, new RegExp(`; ${threads} threads, cpu`));
});

test("an existing run is refused (exit 2); resuming with a changed model is refused, naming the key", async () => {
  const dir = join(tmp.dir, "sigint"); // the run of the first test
  const again = await gcrl(["train", "--config", tinyFile, "--out", dir, "--steps", "2"]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a run .*gcrl train --resume/);
  const changed = await gcrl(["train", "--resume", dir, "--model.d", "32"]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /only the budget .* can change .*model\.d \(16 in the run, 32 given\)/);
  const both = await gcrl(["train", "--resume", dir, "--config", tinyFile]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--config cannot be combined with --resume/);
});

test("--help lists the trainer's options and every config key with its default", async () => {
  const r = await gcrl(["train", "--help"]);
  assert.equal(r.code, 0);
  for (const flag of ["--config FILE", "--out DIR", "--resume DIR", "--device DEVICE", "--knn-train-images N", "--force", "--data NAME", "--mode gcrl|igpt|simclr", "--steps N", "--epochs N", "--minutes X"]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  for (const o of describeOptions()) {
    assert.match(r.stdout, new RegExp(`--${o.path.replace(/\./g, "\\.")} .*\\(default `), o.path);
  }
  assert.match(r.stdout, /--model\.d N +model width .*\(default 128\)/);
});
