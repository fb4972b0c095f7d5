// Inference benchmark: images/s of `passImages` (src/eval/image-pass.ts) on the reference model
// (configs/reference.json's sizes through trainBenchSetup), encoding only (r(x), as the probe, kNN
// and OOD scores use it) and encoding + likelihood (bits/dim, as `eval likelihood` uses it), on
// the fast path (kernels and the caching allocator) and the reference path, alternating, in one run. Random init and random
// tokens: the speed does not depend on the weights. 2 threads.
//
// Knobs (environment): GCRL_BENCH_INFER_N images per measurement (default 64, one batch),
// GCRL_BENCH_INFER_ROUNDS (default 3; the median is printed).
import { performance } from "node:perf_hooks";
import { getNumThreads, manualSeed, randint, setNumThreads, withCpuCacheSync, CPU_CACHE_BYTES, type KernelPath } from "../src/torch/index.ts";
import { GCRLModel } from "../src/model/index.ts";
import { passImages } from "../src/eval/image-pass.ts";
import { trainBenchSetup } from "./train.ts";
import { envInt } from "./env-int.ts";

const THREADS = 2;

export function benchInference(): void {
  const n = envInt("GCRL_BENCH_INFER_N", 64);
  const rounds = envInt("GCRL_BENCH_INFER_ROUNDS", 3);
  const before = getNumThreads();
  setNumThreads(THREADS);
  const setup = trainBenchSetup();
  manualSeed(0);
  const model = new GCRLModel(setup.model).eval();
  const { height: h, width: w, vocabSize: k } = setup.model;
  const tokens = randint(0, k, [n, h, w]);
  try {
    console.log(`== inference: passImages on the reference model (${model.describe()}), ${n} images per measurement, ${THREADS} threads, median of ${rounds} ==`);
    // The model computes on the given kernel path; "reference" (the "before") also runs without the
    // caching allocator: an outer 0-byte cache scope keeps passImages' own scope off.
    const rate = (path: KernelPath, withNll: boolean): number =>
      withCpuCacheSync(() => {
        model.setCompute({ kernels: path });
        const t0 = performance.now();
        const r = passImages(model, tokens, { batchSize: n, withFeatures: true, withNll });
        const s = (performance.now() - t0) / 1000;
        r.features?.dispose();
        return n / s;
      }, path === "fast" ? CPU_CACHE_BYTES : 0);
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    for (const [label, withNll] of [["encode (r(x))", false], ["encode + likelihood (bits/dim)", true]] as const) {
      rate("fast", withNll); // warm-up
      const fast: number[] = [];
      const ref: number[] = [];
      for (let r = 0; r < rounds; r++) {
        fast.push(rate("fast", withNll));
        ref.push(rate("reference", withNll));
      }
      console.log(`  ${label.padEnd(32)} fast ${med(fast).toFixed(1)} img/s, reference path ${med(ref).toFixed(1)} img/s, ratio ${(med(fast) / med(ref)).toFixed(2)}`);
    }
  } finally {
    tokens.dispose();
    model.dispose();
    setNumThreads(before);
  }
}
