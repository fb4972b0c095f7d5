// One rank of test/torch/distributed.test.ts: joins the group from torchrun-style variables
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE; TIMEOUT_MS) and runs one scenario (argv[2]); prints one
// JSON line: {ok: true, ...results} or {ok: false, error, seconds}.
import { initProcessGroup, tensor, tidy, allGatherWithGrad, type ProcessGroup } from "../../src/torch/index.ts";
import { globalBatchGradient } from "./ntxent-global.ts";

const env = (name: string): number => Number(process.env[name]);
const scenario = process.argv[2] ?? "collectives";
const started = Date.now();
let group: ProcessGroup | null = null;
try {
  group = initProcessGroup({ masterAddr: process.env.MASTER_ADDR ?? "127.0.0.1", masterPort: env("MASTER_PORT"), rank: env("RANK"), worldSize: env("WORLD_SIZE"), timeoutMs: env("TIMEOUT_MS") });
  const g = group;
  const rank = g.rank;
  const out = tidy(() => {
    if (scenario === "collectives") {
      const a = tensor([rank + 1, 10 * (rank + 1)]);
      const b = tensor([[rank, rank], [1, 2]]);
      g.allReduce([a, b], "sum");
      const c = tensor([rank + 1.0]);
      g.allReduce([c], "avg");
      const m = tensor([rank * 3]);
      g.allReduce([m], "max");
      const d = tensor([rank + 100, rank + 200]);
      g.broadcast([d], 1);
      const parts = g.allGather(tensor([[rank, -rank]]));
      // allGatherWithGrad: only the own slice carries a gradient.
      const x = tensor([2.0 * (rank + 1)]).requiresGrad_();
      const all = allGatherWithGrad(g, x);
      all.mul(all).sum().backward();
      g.barrier();
      return { sum: [a.toArray(), b.toArray()], avg: c.toArray(), max: m.toArray(), broadcast: d.toArray(), gathered: parts.map((p) => p.toArray()), gatheredWithGrad: all.detach().toArray(), grad: x.grad!.toArray() };
    }
    if (scenario === "global-gradient") return globalBatchGradient(g);
    if (scenario === "exit-after-join") {
      if (rank === 1) process.exit(0);
      const a = tensor([1, 2, 3]);
      g.allReduce([a]);
      return {};
    }
    throw new Error(`unknown scenario ${scenario}`);
  });
  console.log(JSON.stringify({ ok: true, rank, ...out }, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));
  group.destroy();
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: (err as Error).message, seconds: (Date.now() - started) / 1000 }));
  process.exitCode = 1;
}
