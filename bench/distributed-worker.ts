// One rank of bench/distributed.ts (torchrun's variables: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE;
// GCRL_NUM_THREADS): argv[2] is "train" (timed data-parallel training steps of the setup in
// GCRL_BENCH_DIST_SETUP, JSON) or "allreduce" (timed all-reduces of a GCRL_BENCH_DIST_FLOATS bucket).
// Prints one JSON line (rank 0 only).
import { performance } from "node:perf_hooks";
import { AdamW, initProcessGroup, manualSeed, randint, tidy, weightDecayGroups, zeros, type ProcessGroup } from "../src/torch/index.ts";
import { GCRLModel } from "../src/model/index.ts";
import { hybridLoss } from "../src/train/objectives.ts";
import { DataParallel } from "../src/train/data-parallel.ts";
import type { TrainBenchSetup } from "./train.ts";

const mode = process.argv[2];
const worldSize = Number(process.env.WORLD_SIZE ?? 1);
const rank = Number(process.env.RANK ?? 0);
const steps = Number(process.env.GCRL_BENCH_DIST_STEPS ?? 3);
const group: ProcessGroup | null = worldSize > 1
  ? initProcessGroup({ masterAddr: process.env.MASTER_ADDR ?? "127.0.0.1", masterPort: Number(process.env.MASTER_PORT), rank, worldSize, timeoutMs: 600_000 })
  : null;

function timeTrain(): Record<string, number> {
  const setup = JSON.parse(process.env.GCRL_BENCH_DIST_SETUP ?? "{}") as TrainBenchSetup;
  manualSeed(0);
  const model = new GCRLModel(setup.model);
  model.train();
  const optimizer = new AdamW(weightDecayGroups(model, setup.optim.weightDecay), { lr: setup.optim.lr, betas: setup.optim.betas, eps: setup.optim.eps });
  const dp = group === null ? null : new DataParallel(group);
  const params = model.parameters();
  dp?.broadcastParameters(params);
  const shard = setup.batch / worldSize;
  let communication = 0;
  const step = (): void => {
    tidy(() => {
      const tokens = (): ReturnType<typeof randint> => randint(0, setup.model.vocabSize, [shard, setup.model.height, setup.model.width]);
      optimizer.zeroGrad();
      const r = hybridLoss(setup.objective, model, tokens(), tokens(), dp?.global ?? null);
      r.gradientLoss.backward();
      const t0 = performance.now();
      dp?.averageGradients(params);
      communication += performance.now() - t0;
      optimizer.step();
    });
  };
  for (let i = 0; i < 2; i++) step(); // warm-up
  group?.barrier();
  communication = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  group?.barrier();
  const seconds = (performance.now() - t0) / 1000;
  return { steps, seconds, imagesPerSecond: (steps * setup.batch) / seconds, gradientAllReduceSeconds: communication / 1000, parameters: params.reduce((a, p) => a + p.numel, 0) };
}

function timeAllReduce(): Record<string, number> {
  const floats = Number(process.env.GCRL_BENCH_DIST_FLOATS ?? 2_000_000);
  const repeats = Number(process.env.GCRL_BENCH_DIST_REPEATS ?? 10);
  const bucket = zeros([floats]).add(rank + 1);
  group!.allReduce([bucket]); // warm-up (connections, buffers)
  group!.barrier();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) group!.allReduce([bucket]);
  const seconds = (performance.now() - t0) / 1000 / repeats;
  const bytes = floats * 4;
  // Algorithm bandwidth: the bucket's bytes per second; bus bandwidth: what each link carries in a ring, 2(N−1)/N of it.
  return { floats, repeats, secondsPerAllReduce: seconds, algorithmGBps: bytes / seconds / 1e9, busGBps: (bytes * 2 * (worldSize - 1)) / worldSize / seconds / 1e9 };
}

const result = mode === "allreduce" ? timeAllReduce() : timeTrain();
if (rank === 0) console.log(JSON.stringify(result));
group?.destroy();
