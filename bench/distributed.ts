// Data-parallel benchmark (`npm run bench -- distributed`): on this machine's cores, the same
// training steps (the reference model of bench/train.ts, random tokens, global batch unchanged) in
// 1 process × 2 threads and in 2 processes × 1 thread over gloo on 127.0.0.1 (DataParallel: NT-Xent
// on the gathered projections, one flat gradient bucket all-reduced), side by side; and the
// all-reduce of a 2M-float (8 MB) bucket between 2 processes over loopback. On 2 cores the point is
// the overhead of the second process and of the exchanges, not a speed-up.
//
// Knobs: GCRL_BENCH_DIST_STEPS (timed steps, default 3, after 2 warm-up steps),
// GCRL_BENCH_DIST_MODEL=small (d = 32, 1 + 1 layers, batch 16: a quick run),
// GCRL_BENCH_DIST_FLOATS (bucket, default 2,000,000), GCRL_BENCH_DIST_REPEATS (default 10).
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/util/free-port.ts";
import { trainBenchSetup, type TrainBenchSetup } from "./train.ts";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "distributed-worker.ts");

function smallSetup(setup: TrainBenchSetup): TrainBenchSetup {
  return { ...setup, source: `${setup.source}, made small (GCRL_BENCH_DIST_MODEL=small)`, batch: 16, model: { ...setup.model, d: 32, heads: 2, encoderLayers: 1, decoderLayers: 1 } };
}

/** Runs `worldSize` workers of `mode` with `threads` threads each; rank 0's JSON result. */
async function runWorkers(mode: "train" | "allreduce", worldSize: number, threads: number, env: Record<string, string>): Promise<Record<string, number>> {
  const port = await freePort();
  const outputs = await Promise.all(Array.from({ length: worldSize }, (_, rank) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, mode], {
      env: { ...process.env, ...env, MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(worldSize), GCRL_NUM_THREADS: String(threads) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`bench distributed: rank ${rank} of ${worldSize} (${mode}) exited with ${code}`))));
  })));
  return JSON.parse(outputs[0]!.trim().split("\n").pop()!) as Record<string, number>;
}

export async function benchDistributed(): Promise<void> {
  const base = trainBenchSetup();
  const setup = process.env.GCRL_BENCH_DIST_MODEL === "small" ? smallSetup(base) : base;
  const env = { GCRL_BENCH_DIST_SETUP: JSON.stringify(setup) };
  console.log(`\n== distributed: data-parallel training over gloo on 127.0.0.1 (${setup.source}; global batch ${setup.batch}) ==`);
  const one = await runWorkers("train", 1, 2, env);
  const two = await runWorkers("train", 2, 1, env);
  const line = (label: string, r: Record<string, number>): string =>
    `${label.padEnd(26)} ${r.imagesPerSecond!.toFixed(1).padStart(8)} img/s  (${r.steps} steps in ${r.seconds!.toFixed(2)} s; gradient all-reduce, waits for the slower rank included, ${r.gradientAllReduceSeconds!.toFixed(3)} s)`;
  console.log(`model: ${one.parameters} parameters`);
  console.log(line("1 process × 2 threads", one));
  console.log(line("2 processes × 1 thread", two));
  console.log(`ratio (2 processes / 1 process): ${(two.imagesPerSecond! / one.imagesPerSecond!).toFixed(2)}×`);
  const ar = await runWorkers("allreduce", 2, 1, {});
  console.log(
    `all-reduce (sum) of ${(ar.floats! / 1e6).toFixed(1)}M floats (${((ar.floats! * 4) / 2 ** 20).toFixed(1)} MiB), 2 processes over loopback: ` +
      `${(ar.secondsPerAllReduce! * 1000).toFixed(2)} ms each (mean of ${ar.repeats}); ${ar.algorithmGBps!.toFixed(2)} GB/s of bucket, ${ar.busGBps!.toFixed(2)} GB/s bus bandwidth`,
  );
}
