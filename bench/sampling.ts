// Sampling benchmark: samples/s of the fast path (src/eval/sampling.ts, src/model/incremental.ts:
// one cached encoder step per row, one cached decoder step per pixel) next to the naive reference (encode +
// decode of the full image once per pixel), on the model sizes of configs/demo.json, in one run
// with the same n images; then the fast path on configs/reference.json's sizes. Random init (the
// speed does not depend on the weights), 28×28, K = 16, 2 threads.
//
// The target of the sampling issue: fast ≥ 10× naive. Knobs (environment):
//   GCRL_BENCH_SAMPLING_N          images per measurement (default 4; one batch)
//   GCRL_BENCH_SAMPLING_NAIVE_ROWS time the naive path over its first R rows only and extrapolate
//                                  to all H rows (default: all rows, nothing extrapolated)
//   GCRL_BENCH_SAMPLING_REF_N      images of the reference-size measurement (default 8)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { manualSeed, getNumThreads, setNumThreads, noGrad, tensor, tidy, zeros } from "../src/torch/index.ts";
import { GCRLModel, IncrementalDecoder, type ModelConfig } from "../src/model/index.ts";
import { sampleTokens, sampleTokensNaive } from "../src/eval/sampling.ts";
import { envInt } from "./env-int.ts";

const THREADS = 2;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const IMAGE = { height: 28, width: 28, vocabSize: 16 };

type ModelSection = Partial<Omit<ModelConfig, "height" | "width" | "vocabSize">>;

/** The model section of a config file (only the sizes matter here). */
function modelSection(file: string): ModelSection {
  const json = JSON.parse(readFileSync(join(ROOT, "configs", file), "utf8")) as { model?: ModelSection };
  return json.model ?? {};
}

function build(section: ModelSection): GCRLModel {
  manualSeed(0);
  const model = new GCRLModel({ ...IMAGE, ...section });
  model.eval();
  return model;
}

function timeIt<T>(fn: () => T): { value: T; seconds: number } {
  const start = performance.now();
  const value = fn();
  return { value, seconds: (performance.now() - start) / 1000 };
}

/**
 * The naive path over its first `rows` rows: the same work per pixel as sampleTokensNaive (encode +
 * decode of the full batch, logits of one pixel read back), with the pixels drawn by argmax (the
 * draw itself is negligible next to the network pass). Returns seconds.
 */
function naivePrefixSeconds(model: GCRLModel, n: number, rows: number): number {
  const { height: h, width: w } = model.config;
  const tokens = new BigInt64Array(n * h * w);
  const start = performance.now();
  noGrad(() => {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < w; j++) {
        const best = tidy(() => {
          const t = tensor(tokens, { shape: [n, h, w] });
          return model.decode(t, model.encode(t).hidden).select(1, i).select(1, j).argmax(1).toTypedArray<"int64">();
        });
        for (let b = 0; b < n; b++) tokens[b * h * w + i * w + j] = best[b]!;
      }
    }
  });
  return (performance.now() - start) / 1000;
}

/**
 * Where the fast path's time goes (src/model/incremental.ts), on n images: the encoder's H row
 * steps (one image's worth of encoder work) and the decoder's H·W pixel steps, timed on their own.
 */
function partSeconds(model: GCRLModel, n: number): { encoder: number; decoder: number } {
  const { height: h, width: w } = model.config;
  return noGrad(() => {
    const state = new IncrementalDecoder(model, n);
    try {
      const row = zeros([n, w], { dtype: "int64" });
      const e0 = performance.now();
      for (let r = 0; r < h; r++) tidy(() => state.encodeRow(row, r));
      const encoder = (performance.now() - e0) / 1000;
      const context = state.rowContext(null, 0);
      const d0 = performance.now();
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) tidy(() => state.decodeStep(j === 0 ? state.start() : state.embedAt(row.select(1, 0), 0, j - 1), context.select(1, j), j));
      const decoder = (performance.now() - d0) / 1000;
      row.dispose();
      context.dispose();
      return { encoder, decoder };
    } finally {
      state.dispose();
    }
  });
}

/** The parts line: encoder and decoder steps, and what is left of the whole (drawing, host copies). */
function parts(p: { encoder: number; decoder: number }, n: number, total: number): string {
  const { height: h, width: w } = IMAGE;
  return `  parts (batch ${n}): encoder ${h} row steps ${p.encoder.toFixed(2)} s; decoder ${h * w} pixel steps ${p.decoder.toFixed(2)} s ` +
    `(${((p.decoder / (h * w)) * 1000).toFixed(2)} ms each); the rest (draws, host copies) ${Math.max(0, total - p.encoder - p.decoder).toFixed(2)} s`;
}

export async function benchSampling(): Promise<void> {
  const previousThreads = getNumThreads();
  setNumThreads(THREADS);
  try {
    const n = envInt("GCRL_BENCH_SAMPLING_N", 4);
    const h = IMAGE.height;
    const naiveRows = Math.min(envInt("GCRL_BENCH_SAMPLING_NAIVE_ROWS", h), h);
    const refN = envInt("GCRL_BENCH_SAMPLING_REF_N", 8);
    console.log(`== sampling: fast (cached steps) vs naive (whole network per pixel), ${THREADS} threads, 28×28, K = 16, random init ==`);

    const demo = build(modelSection("demo.json"));
    console.log(`demo model (configs/demo.json): ${demo.describe()}`);
    sampleTokens(demo, 1, { seed: 99 }).dispose(); // warm-up: first touches of every buffer
    const fast = timeIt(() => sampleTokens(demo, n, { seed: 1, batchSize: n }));
    let naiveSeconds: number;
    let agreement = "";
    if (naiveRows === h) {
      const naive = timeIt(() => sampleTokensNaive(demo, n, { seed: 1, batchSize: n }));
      naiveSeconds = naive.seconds;
      const a = fast.value.toArray();
      const b = naive.value.toArray();
      const same = a.filter((v, p) => v === b[p]).length;
      agreement = `; same tokens as the fast path: ${same}/${a.length}`;
      naive.value.dispose();
    } else {
      naiveSeconds = (naivePrefixSeconds(demo, n, naiveRows) * h) / naiveRows;
      agreement = ` (EXTRAPOLATED from the first ${naiveRows} of ${h} rows)`;
    }
    fast.value.dispose();
    const fastRate = n / fast.seconds;
    const naiveRate = n / naiveSeconds;
    console.log(`  fast : ${n} images in ${fast.seconds.toFixed(2)} s = ${fastRate.toFixed(2)} samples/s`);
    console.log(`  naive: ${n} images in ${naiveSeconds.toFixed(2)} s = ${naiveRate.toFixed(3)} samples/s${agreement}`);
    const ratio = fastRate / naiveRate;
    console.log(`  speed-up fast / naive: ${ratio.toFixed(1)}× (target >= 10×: ${ratio >= 10 ? "PASS" : "FAIL"})`);
    console.log(parts(partSeconds(demo, n), n, fast.seconds));
    demo.dispose();

    const ref = build(modelSection("reference.json"));
    console.log(`reference model (configs/reference.json): ${ref.describe()}`);
    sampleTokens(ref, 1, { seed: 99 }).dispose();
    const refFast = timeIt(() => sampleTokens(ref, refN, { seed: 1, batchSize: refN }));
    refFast.value.dispose();
    console.log(`  fast : ${refN} images in ${refFast.seconds.toFixed(2)} s = ${(refN / refFast.seconds).toFixed(2)} samples/s (batch ${refN})`);
    console.log(parts(partSeconds(ref, refN), refN, refFast.seconds));
    ref.dispose();
  } finally {
    setNumThreads(previousThreads);
  }
}

// `node --import tsx bench/sampling.ts` runs this section alone.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await benchSampling();
