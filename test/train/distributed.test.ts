// Data-parallel training as a user runs it (node bin/gcrl.js train --nproc 2, real processes on
// 127.0.0.1, the tiny model): the same losses step by step and the same weights as one process at
// equal global batch and seed, also across a resume that changes N; a worker killed mid-run stops the other within the timeout with a
// message naming the rank, the last checkpoint is kept and --resume --nproc 2 finishes the run;
// a batch not divisible by N, an existing run folder, a port in use, disagreeing WORLD_SIZEs and a
// rank that never arrives are one line each, exit 2.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadSafetensors } from "../../src/torch/index.ts";
import { readMetrics, RUN_FILES } from "../../src/train/run-folder.ts";
import { freePort } from "../../src/util/free-port.ts";
import { TINY_OVERRIDES, tempFolder } from "./trainer-fixtures.ts";

const tmp = tempFolder("distributed");
after(() => tmp.cleanup());
const tinyFile = join(tmp.dir, "tiny.json");
writeFileSync(tinyFile, JSON.stringify(TINY_OVERRIDES, null, 2));

/** float32 agreement of N = 2 with N = 1 (see docs/distributed.md, "Equal to one process"). */
const LOSS_RTOL = 1e-5;
const WEIGHT_ATOL = 1e-4;

interface Finished { code: number | null; stdout: string; stderr: string; seconds: number }

function gcrl(args: string[], env: NodeJS.ProcessEnv = {}, whileRunning?: (pid: number) => Promise<void>): Promise<Finished> {
  const started = Date.now();
  const child = spawn(process.execPath, ["bin/gcrl.js", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000); // a hang fails the test instead of the suite
  const done = new Promise<Finished>((resolve) => child.on("close", (code) => { clearTimeout(killer); resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }); }));
  return (async () => {
    if (whileRunning) await whileRunning(child.pid!);
    return done;
  })();
}

const trainRows = (dir: string) => readMetrics(join(dir, RUN_FILES.metrics)).filter((r) => r.kind === "train") as unknown as Record<string, number>[];
const checkpointStep = (dir: string): number => (JSON.parse(readFileSync(join(dir, RUN_FILES.checkpointJson), "utf8")) as { step: number }).step;

/** Largest |a − b| over every weight of two model.safetensors files. */
function maxWeightDifference(a: string, b: string): number {
  const ta = loadSafetensors(join(a, "model.safetensors")).tensors;
  const tb = loadSafetensors(join(b, "model.safetensors")).tensors;
  let max = 0;
  for (const [name, x] of ta) {
    const xa = x.toTypedArray();
    const xb = tb.get(name)!.toTypedArray();
    for (let i = 0; i < xa.length; i++) max = Math.max(max, Math.abs(Number(xa[i]) - Number(xb[i])));
  }
  for (const t of [...ta.values(), ...tb.values()]) t.dispose();
  return max;
}

test("N = 2 and N = 1 give the same losses step by step and the same weights after 20 steps (float32 tolerance)", async (t) => {
  const common = ["train", "--config", tinyFile, "--steps", "20", "--train.logEvery", "1", "--train.evalEvery", "0", "--train.checkpointEvery", "10"];
  const one = join(tmp.dir, "one");
  const two = join(tmp.dir, "two");
  const [r1, r2] = [await gcrl([...common, "--out", one]), await gcrl([...common, "--out", two, "--nproc", "2", "--dist-timeout", "20"])];
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /data-parallel: 2 processes \(gloo\), global batch 8 = 2 × 4; rank 0 writes the run folder/);
  assert.equal((r2.stdout.match(/^done: /gm) ?? []).length, 1, "only rank 0 prints");
  const a = trainRows(one);
  const b = trainRows(two);
  assert.deepEqual(b.map((r) => r.step), a.map((r) => r.step));
  let lossDiff = 0;
  for (const [i, ra] of a.entries()) {
    for (const key of ["loss", "generative", "contrastive", "contrastiveAccuracy", "gradNorm", "lr"]) {
      const x = ra[key]!;
      const y = b[i]![key]!;
      const rel = Math.abs(x - y) / Math.max(Math.abs(x), 1e-12);
      lossDiff = Math.max(lossDiff, rel);
      assert.ok(rel <= LOSS_RTOL, `step ${ra.step}: ${key} ${x} (N = 1) vs ${y} (N = 2)`);
    }
  }
  const weightDiff = maxWeightDifference(one, two);
  t.diagnostic(`largest relative difference of a step's values: ${lossDiff.toExponential(2)}; largest weight difference after 20 steps: ${weightDiff.toExponential(2)}`);
  assert.ok(weightDiff <= WEIGHT_ATOL, `weights differ by up to ${weightDiff}`);
  assert.deepEqual(readdirSync(two).sort(), readdirSync(one).sort(), "rank 0 writes the same run folder");

  // A resume may change N (the global batch is the same): the N = 2 run continued by one process
  // and the N = 1 run continued by two end equal to the same tolerance.
  const [c1, c2] = [await gcrl(["train", "--resume", one, "--steps", "24", "--nproc", "2", "--dist-timeout", "20"]), await gcrl(["train", "--resume", two, "--steps", "24"])];
  assert.equal(c1.code, 0, c1.stderr);
  assert.equal(c2.code, 0, c2.stderr);
  const end1 = trainRows(one).at(-1)!;
  const end2 = trainRows(two).at(-1)!;
  assert.equal(end1.step, 24);
  assert.ok(Math.abs(end1.loss! - end2.loss!) / end1.loss! <= LOSS_RTOL, `step 24: loss ${end1.loss} vs ${end2.loss}`);
  assert.ok(maxWeightDifference(one, two) <= WEIGHT_ATOL);
});

test("a worker killed mid-run: the other stops within the timeout naming rank 1; the checkpoint is kept; --resume --nproc 2 finishes", async () => {
  const dir = join(tmp.dir, "killed");
  let killedAt = 0;
  let victim = 0;
  const r = await gcrl(
    ["train", "--config", tinyFile, "--out", dir, "--steps", "100000", "--nproc", "2", "--dist-timeout", "5", "--train.logEvery", "1", "--train.evalEvery", "0", "--train.checkpointEvery", "3"],
    {},
    async (launcher) => {
      const deadline = Date.now() + 90_000;
      while (!(existsSync(join(dir, RUN_FILES.checkpointJson)) && checkpointStep(dir) >= 3)) {
        if (Date.now() > deadline) throw new Error("no checkpoint after 90 s");
        await sleep(100);
      }
      victim = workerPid(launcher, 1);
      process.kill(victim, "SIGKILL");
      killedAt = Date.now();
    },
  );
  const stopSeconds = (Date.now() - killedAt) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.ok(stopSeconds < 5 + 5, `the launcher exited ${stopSeconds} s after the kill`);
  assert.match(r.stderr, new RegExp(`gcrl train: rank 1 of 2 \\(pid ${victim}\\) was killed by SIGKILL; rank 0 exited with code 1`));
  assert.match(r.stderr, new RegExp(`rank 0 of 2 .*rank 1 \\(pid ${victim}\\) has exited`), "rank 0 names the rank it lost");
  const kept = checkpointStep(dir);
  assert.ok(kept >= 3 && kept % 3 === 0, `checkpoint at step ${kept}`);

  const resumed = await gcrl(["train", "--resume", dir, "--nproc", "2", "--steps", String(kept + 2), "--dist-timeout", "20"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming .* at step ${kept}`));
  assert.equal(checkpointStep(dir), kept + 2);
  assert.deepEqual(trainRows(dir).map((x) => x.step), Array.from({ length: kept + 2 }, (_, i) => i + 1));
});

/** The pid of the launcher's worker with RANK=rank (from /proc: its children's environments). */
function workerPid(launcher: number, rank: number): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== launcher) continue;
      if (readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`RANK=${rank}`)) return Number(entry);
    } catch {
      // a process that just exited
    }
  }
  throw new Error(`no worker with RANK=${rank} under pid ${launcher}`);
}

test("clear errors, exit 2: a batch not divisible by N, a port in use, disagreeing WORLD_SIZEs, a rank that never arrives", async () => {
  const base = ["train", "--config", tinyFile, "--steps", "2", "--dist-timeout", "3"];
  const indivisible = await gcrl([...base, "--out", join(tmp.dir, "indivisible"), "--nproc", "3"]);
  assert.equal(indivisible.code, 2);
  assert.match(indivisible.stderr, /train\.batchSize \(--batch-size\) 8 is not divisible by the 3 data-parallel processes/);
  assert.equal(existsSync(join(tmp.dir, "indivisible")), false);

  const taken = join(tmp.dir, "taken");
  mkdirSync(taken);
  writeFileSync(join(taken, RUN_FILES.config), "{}");
  const existing = await gcrl([...base, "--out", taken, "--nproc", "2"]);
  assert.equal(existing.code, 2);
  assert.match(existing.stderr, /^gcrl train: .*taken already holds a run /);
  assert.equal(existing.stderr.trim().split("\n").length, 1, `one line, before any worker starts: ${existing.stderr}`);

  const server = createServer();
  const busy = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  const torchrun = (port: number, rank: number, worldSize: number) => ({ MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(worldSize) });
  try {
    const r = await gcrl([...base, "--out", join(tmp.dir, "busy")], torchrun(busy, 0, 2));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^gcrl train: initProcessGroup: rank 0 could not host the store on 127\\.0\\.0\\.1:${busy}: the port is in use`, "m"));
  } finally {
    server.close();
  }

  const port = await freePort();
  // (a longer timeout: the two processes may start seconds apart on a busy machine; the mismatch is seen as soon as both are there)
  const slow = [...base, "--dist-timeout", "20", "--out", join(tmp.dir, "ws")];
  const [w0, w1] = await Promise.all([gcrl(slow, torchrun(port, 0, 2)), gcrl(slow, torchrun(port, 1, 4))]);
  assert.equal(w0.code, 2, w0.stderr);
  assert.equal(w1.code, 2, w1.stderr);
  assert.match(w0.stderr, /rank 0 has WORLD_SIZE=2 but rank 1 \(pid \d+ on .*\) has WORLD_SIZE=4: every process must be started with the same WORLD_SIZE/);
  assert.match(w1.stderr, /rank 1 has WORLD_SIZE=4 but rank 0/);

  const alone = await gcrl([...base, "--out", join(tmp.dir, "alone")], torchrun(await freePort(), 0, 2));
  assert.equal(alone.code, 2, alone.stderr);
  assert.match(alone.stderr, /rank 0: rank 1 of WORLD_SIZE=2 did not join 127\.0\.0\.1:\d+ within 3 s/);
  assert.equal(alone.stderr.trim().split("\n").length, 1, `one line: ${alone.stderr}`);
});
