// Peak RSS of the fast path's training step in a fresh process: what `gcrl train` holds on the
// reference model, free of whatever earlier bench sections left in the parent's heap. Runs one
// warm-up and two fast steps (the trainer's path: caching allocator on) and prints one JSON line,
// { "maxRssKb": N, "steps": [seconds…] }. Started by bench/train.ts; `node --import tsx
// bench/train-rss.ts [config|-] [fp32|bf16]` runs it alone (bf16: the mixed-precision step).
import { setNumThreads, setCpuCache, type MatmulPrecision } from "../src/torch/index.ts";
import { ourTrainer, trainBenchSetup } from "./train.ts";

setNumThreads(2);
const config = process.argv[2] === "-" ? undefined : process.argv[2];
const precision: MatmulPrecision = process.argv[3] === "bf16" ? "bf16" : "fp32";
const ours = ourTrainer(trainBenchSetup(config));
const steps: number[] = [];
try {
  for (let s = 0; s < 3; s++) steps.push(ours.step("fast", precision).wall);
} finally {
  ours.dispose();
  setCpuCache(0);
}
console.log(JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, steps }));
