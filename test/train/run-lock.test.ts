// The run-folder lock (src/train/run-lock.ts): acquire / refuse / release in one process; stale
// locks (a dead pid, a reused pid) taken over; other hosts and foreign files refused; released by
// process.exit(); and through the CLI with real processes: a second `gcrl train --resume` on a
// running run exits 2 naming the first one's pid, while `gcrl sample` still reads the run.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { acquireRunLock, readRunLock, RunLockError, LOCK_FORMAT, type LockHolder } from "../../src/train/run-lock.ts";
import { LOCK_FILE, RUN_FILES } from "../../src/train/run-folder.ts";
import { hostname } from "node:os";
import { TINY_OVERRIDES, tempFolder } from "./trainer-fixtures.ts";

const tmp = tempFolder("run-lock");
after(() => tmp.cleanup());
let folders = 0;
const folder = (): string => {
  const dir = join(tmp.dir, `f${folders++}`);
  mkdirSync(dir);
  return dir;
};

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(r.status, 0);
  return r.pid!;
}

function writeLock(dir: string, patch: Partial<LockHolder>): LockHolder {
  const h: LockHolder = { format: LOCK_FORMAT, pid: process.pid, host: hostname(), command: "gcrl train (test)", started: new Date(0).toISOString(), token: "0123456789abcdef", processStart: null, ...patch };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(h));
  return h;
}

test("acquire writes the holder; a second acquire is refused naming the pid; release removes the lock (twice is fine)", () => {
  const dir = folder();
  const lock = acquireRunLock(dir, "gcrl eval all x");
  const h = readRunLock(dir)!;
  assert.deepEqual({ pid: h.pid, host: h.host, command: h.command }, { pid: process.pid, host: hostname(), command: "gcrl eval all x" });
  assert.ok(Date.now() - Date.parse(h.started) < 60_000);
  assert.throws(() => acquireRunLock(dir, "gcrl train"), (err: unknown) => {
    assert.ok(err instanceof RunLockError);
    assert.match(err.message, new RegExp(`is in use by pid ${process.pid} \\(gcrl eval all x, since `));
    return true;
  });
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  lock.release();
  acquireRunLock(dir, "again").release();
});

test("a stale lock is taken over: dead pid, or a live pid that belongs to a later process", () => {
  const dead = folder();
  writeLock(dead, { pid: deadPid() });
  const lock = acquireRunLock(dead, "taker");
  assert.equal(readRunLock(dead)!.command, "taker");
  lock.release();

  const reused = folder();
  writeLock(reused, { pid: process.ppid, processStart: "1" }); // alive, but started at another time than recorded
  acquireRunLock(reused, "taker").release();
});

test("a live holder, another host's lock and a file that is not a lock are refused", () => {
  const live = folder();
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    writeLock(live, { pid: child.pid! });
    assert.throws(() => acquireRunLock(live, "x"), new RegExp(`in use by pid ${child.pid} \\(gcrl train \\(test\\)`));
  } finally {
    child.kill();
  }
  const remote = folder();
  writeLock(remote, { pid: deadPid(), host: "elsewhere.example" });
  assert.throws(() => acquireRunLock(remote, "x"), /in use by pid \d+ on host elsewhere\.example .*cannot tell whether it still runs; remove the file/);
  const foreign = folder();
  writeFileSync(join(foreign, LOCK_FILE), "not json");
  assert.throws(() => acquireRunLock(foreign, "x"), /which is not a gcrl lock; remove it if no gcrl command is writing/);
});

test("process.exit() releases the process's locks", () => {
  const dir = folder();
  const code = `import("./src/train/run-lock.ts").then((m) => { m.acquireRunLock(${JSON.stringify(dir)}, "child"); process.exit(3); })`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { encoding: "utf8" });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

// ---- through the CLI ----------------------------------------------------------------------------

const tinyFile = join(tmp.dir, "tiny.json");
writeFileSync(tinyFile, JSON.stringify(TINY_OVERRIDES));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function gcrl(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<Finished> } {
  const child = spawn(process.execPath, ["bin/gcrl.js", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, done: new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))) };
}

test("two trainers on one run: the second exits 2 naming the first's pid; sample still reads the run; SIGINT releases the lock", async () => {
  const dir = join(tmp.dir, "two");
  const first = gcrl(["train", "--config", tinyFile, "--out", dir, "--steps", "100000", "--train.checkpointEvery", "1", "--train.evalEvery", "0"]);
  try {
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(dir, RUN_FILES.model))) {
      if (Date.now() > deadline) throw new Error("no checkpoint after 60 s");
      if (first.child.exitCode !== null) throw new Error(`gcrl exited early: ${(await first.done).stderr}`);
      await sleep(50);
    }
    assert.equal(readRunLock(dir)?.pid, first.child.pid);
    assert.match(readRunLock(dir)!.command, /^gcrl train --config .* --out /);

    const second = await gcrl(["train", "--resume", dir, "--steps", "200000"]).done;
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`^gcrl train: ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by pid ${first.child.pid} \\(gcrl train --config `));
    assert.doesNotMatch(second.stderr, /\n\s+at /, "no stack trace");

    const png = join(tmp.dir, "two.png");
    const sample = await gcrl(["sample", "--run", dir, "--n", "1", "--out", png]).done;
    assert.equal(sample.code, 0, sample.stderr);
    assert.ok(existsSync(png));
  } finally {
    first.child.kill("SIGINT");
  }
  const ended = await first.done;
  assert.equal(ended.code, 130, ended.stderr);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, "released on SIGINT");
});

test("a lock left by a killed trainer is taken over by the next `gcrl train --resume`", async () => {
  const dir = join(tmp.dir, "stale");
  const made = await gcrl(["train", "--config", tinyFile, "--out", dir, "--steps", "2", "--train.evalEvery", "0"]).done;
  assert.equal(made.code, 0, made.stderr);
  const pid = deadPid();
  writeLock(dir, { pid, command: "gcrl train (killed)" });
  const resumed = await gcrl(["train", "--resume", dir, "--steps", "3"]).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming .* at step 2/);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  assert.equal(JSON.parse(readFileSync(join(dir, RUN_FILES.checkpointJson), "utf8")).step, 3);
});
