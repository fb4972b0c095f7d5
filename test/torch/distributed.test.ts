// c10d binding (src/torch/distributed.ts): real processes on 127.0.0.1, one per rank
// (test/torch/distributed-worker.ts). Known answers for the collectives; the float64 gradient of a
// global-batch NT-Xent + shard-mean loss equal to one process's (test/torch/ntxent-global.ts); the faults: a rank
// that never arrives, a peer that exits, disagreeing WORLD_SIZEs, a port in use; each bounded
// by the 3 s timeout the workers get.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { freePort } from "../../src/util/free-port.ts";
import { initProcessGroup, DistributedError } from "../../src/torch/index.ts";
import { globalBatchGradient } from "./ntxent-global.ts";

const TIMEOUT_MS = 3000;
interface Outcome { ok: boolean; error?: string; seconds?: number; [key: string]: unknown }

function rank(port: number, rankNo: number, worldSize: number, scenario: string): Promise<Outcome> {
  const env = { ...process.env, MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rankNo), WORLD_SIZE: String(worldSize), TIMEOUT_MS: String(TIMEOUT_MS), GCRL_NUM_THREADS: "1" };
  const child = spawn(process.execPath, ["--import", "tsx", "test/torch/distributed-worker.ts", scenario], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000); // a hang fails the test, not the suite
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(killer);
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as Outcome);
      } catch {
        resolve({ ok: false, error: `rank ${rankNo} exited ${code} without a result: ${out} ${err}` });
      }
    });
  });
}

test("two ranks: all-reduce (sum, avg, max), broadcast, all-gather, all-gather with gradient, barrier", async () => {
  const port = await freePort();
  const results = await Promise.all([rank(port, 0, 2, "collectives"), rank(port, 1, 2, "collectives")]);
  for (const [r, o] of results.entries()) {
    assert.equal(o.ok, true, o.error);
    assert.deepEqual(o.sum, [[3, 30], [1, 1, 2, 4]]);
    assert.deepEqual(o.avg, [1.5]);
    assert.deepEqual(o.max, [3]);
    assert.deepEqual(o.broadcast, [101, 201]);
    assert.deepEqual(o.gathered, [[0, 0], [1, -1]]);
    assert.deepEqual(o.gatheredWithGrad, [2, 4]);
    // loss = Σ all², all = [x_0, x_1]: only the own slice carries the gradient 2·x_r.
    assert.deepEqual(o.grad, [4 * (r + 1)]);
  }
});

test("float64: the loss and gradient of NT-Xent over the global batch + shard-mean loss, 2 ranks vs 1 process, agree to 1e-12", async (t) => {
  const one = globalBatchGradient(null);
  const port = await freePort();
  const ranks = await Promise.all([rank(port, 0, 2, "global-gradient"), rank(port, 1, 2, "global-gradient")]);
  let worst = 0;
  for (const o of ranks) {
    assert.equal(o.ok, true, o.error);
    const grad = o.grad as number[];
    assert.equal(grad.length, one.grad.length);
    worst = Math.max(worst, Math.abs((o.loss as number) - one.loss), ...grad.map((g, i) => Math.abs(g - one.grad[i]!)));
  }
  t.diagnostic(`largest difference from one process: ${worst.toExponential(2)} (gradient entries up to ${Math.max(...one.grad.map(Math.abs)).toFixed(3)})`);
  assert.ok(worst <= 1e-12, `differs by ${worst}`);
  // The check has teeth: back-propagating L_c instead of N·L_c makes the averaged gradient differ by 0.27 (measured).
  assert.ok(one.grad.some((g) => Math.abs(g) > 1e-3));
});

test("a rank that never arrives: rank 0 names it within the timeout; a lone client cannot reach the master", async () => {
  const [lonelyMaster, lonelyClient] = await Promise.all([
    freePort().then((p) => rank(p, 0, 2, "collectives")),
    freePort().then((p) => rank(p, 1, 2, "collectives")),
  ]);
  assert.equal(lonelyMaster.ok, false);
  assert.match(lonelyMaster.error!, /rank 1 of WORLD_SIZE=2 did not join 127\.0\.0\.1:\d+ within 3 s/);
  assert.ok(lonelyMaster.seconds! < TIMEOUT_MS / 1000 + 2, `took ${lonelyMaster.seconds} s`);
  assert.equal(lonelyClient.ok, false);
  assert.match(lonelyClient.error!, /rank 1 could not reach the master \(rank 0\) at 127\.0\.0\.1:\d+ within 3 s/);
  assert.ok(lonelyClient.seconds! < TIMEOUT_MS / 1000 + 2, `took ${lonelyClient.seconds} s`);
});

test("a peer that exits: the collective fails at once, naming the rank that exited", async () => {
  const port = await freePort();
  const [r0] = await Promise.all([rank(port, 0, 2, "exit-after-join"), rank(port, 1, 2, "exit-after-join")]);
  assert.equal(r0.ok, false);
  assert.match(r0.error!, /^allReduce: rank 0 of 2 .*rank 1 \(pid \d+\) has exited/);
  assert.ok(r0.seconds! < TIMEOUT_MS / 1000 + 2, `took ${r0.seconds} s`);
});

test("ranks that disagree on WORLD_SIZE, and a port in use, are one clear line each", async () => {
  const port = await freePort();
  const [r0, r1] = await Promise.all([rank(port, 0, 2, "collectives"), rank(port, 1, 3, "collectives")]);
  assert.match(r0.error!, /rank 0 has WORLD_SIZE=2 but rank 1 \(pid \d+ on .*\) has WORLD_SIZE=3/);
  assert.match(r1.error!, /rank 1 has WORLD_SIZE=3 but rank 0 \(pid \d+ on .*\) has WORLD_SIZE=2/);

  const server = createServer();
  const busy = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  try {
    const o = await rank(busy, 0, 2, "collectives");
    assert.match(o.error!, new RegExp(`rank 0 could not host the store on 127\\.0\\.0\\.1:${busy}: the port is in use`));
  } finally {
    server.close();
  }
});

test("initProcessGroup checks its options before touching the network", () => {
  const base = { masterAddr: "127.0.0.1", masterPort: 29500, rank: 0, worldSize: 2 };
  assert.throws(() => initProcessGroup({ ...base, rank: 2 }), /argument 'rank' must be an integer from 0 to 1 \(worldSize 2\), got 2/);
  assert.throws(() => initProcessGroup({ ...base, worldSize: 0 }), /argument 'worldSize' must be a positive integer/);
  assert.throws(() => initProcessGroup({ ...base, masterPort: 70000 }), /argument 'masterPort'/);
  assert.throws(() => initProcessGroup({ ...base, timeoutMs: 0 }), /argument 'timeoutMs'/);
  assert.ok(new DistributedError("x", "y") instanceof Error);
});
