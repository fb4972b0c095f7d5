// The generative stage: likelihood (per-image bits/dim, palette space), unconditional samples,
// completions of the top rows, and FID / KID of samples against test images in the fid-net's
// (and optionally Inception's) features. A run without a trained decoder (simclr) gets n/a.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { keep, tidy, type Tensor } from "../torch/index.ts";
import { loadDataset, type DatasetSpec, type DatasetSplit } from "../data/datasets/index.ts";
import { disposeSet, setSize } from "../data/image-set.ts";
import { sampleTokens, completeTokens } from "./sampling.ts";
import { fid as fidOf } from "./fid.ts";
import { kernelInceptionDistance } from "./kid.ts";
import { loadFidNet, saveFidNet, trainFidNet, type FidNet } from "./fid-net.ts";
import { InceptionFeatures } from "./inception.ts";
import type { FidResult, LikelihoodResult, NotApplicable, SampleResult } from "./evaluation-types.ts";
import { hasDecoder, mean, noDecoder, quantiles, requireLabels, seconds, timed, type EvaluationState } from "./evaluation-state.ts";
import { bitsPerDim, loadSplit } from "./evaluation-data.ts";

export async function likelihood(s: EvaluationState): Promise<LikelihoodResult | NotApplicable> {
  if (!hasDecoder(s)) return noDecoder(s);
  const test = await bitsPerDim(s, "test");
  const train = await bitsPerDim(s, "train");
  const [q5, q50, q95] = quantiles(test, [0.05, 0.5, 0.95]);
  return { testBitsPerDim: mean(test), trainBitsPerDim: mean(train), testImages: test.length, trainImages: train.length, testQuantiles: [q5!, q50!, q95!] };
}

/** max(samples, fidSamples) unconditional samples (int64 (n, H, W)), cached with their settings. */
export function samples(s: EvaluationState): SampleResult {
  if (s.samples) return s.samples;
  const { temperature, topK, seed } = s.settings;
  const n = Math.max(s.settings.samples, s.settings.fidSamples);
  let perSecond = NaN;
  const tokens = s.cache.tensor({ kind: "samples", dataset: s.run.config.data.name, split: "none", count: n, variant: `t${temperature}-k${topK}-s${seed}` }, () => {
    const started = performance.now();
    let lastPrint = started;
    const out = sampleTokens(s.run.model, n, {
      temperature,
      topK,
      seed,
      batchSize: s.settings.batchSize,
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - lastPrint > 10_000) {
          lastPrint = now;
          s.log(`  sampling: row ${done}/${total} (${seconds(started)})`);
        }
      },
    });
    perSecond = n / ((performance.now() - started) / 1000);
    s.log(`samples: ${n} in ${seconds(started)} (${perSecond.toFixed(2)} samples/s)`);
    return onCpu(out);
  });
  s.samples = { tokens, samplesPerSecond: perSecond };
  return s.samples;
}

/** Completions of the first completionImages test images: int64 (N, samples, H, W) and the rows given. */
export async function completions(s: EvaluationState): Promise<{ originals: Tensor; completions: Tensor; givenRows: number }> {
  const test = await loadSplit(s, "test");
  const n = Math.min(s.settings.completionImages, test.key.count);
  const givenRows = s.settings.completionRows ?? Math.floor(s.run.modelConfig.height / 2);
  const originals = test.tokens.narrow(0, 0, n);
  const completed = timed(s, `completions (${n} × ${s.settings.completionSamples})`, () =>
    onCpu(
      completeTokens(s.run.model, originals, givenRows, s.settings.completionSamples, {
        temperature: s.settings.temperature,
        topK: s.settings.topK,
        seed: s.settings.seed,
        batchSize: s.settings.batchSize,
      }),
    ),
  );
  return { originals, completions: completed, givenRows };
}

/**
 * t on the CPU (t itself there; else a copy, t disposed). The sampler returns its tokens on the
 * model's device, but the evaluation keeps every token tensor on the CPU, next to the splits' tokens
 * they are painted and gridded with (completions beside their originals) and as the cache returns
 * them, so a stage never meets tokens on two devices.
 */
function onCpu(t: Tensor): Tensor {
  if (t.device === "cpu") return t;
  const cpu = t.cpu();
  t.dispose();
  return cpu;
}

/** Images compared by FID, painted in the palette's colours: float (count, H, W, C) each. */
interface FidImages {
  samples: Tensor;
  test: Tensor;
  train: Tensor;
}

/** A feature network FID and KID are measured in. */
interface FeatureExtractor {
  network: string;
  info: string;
  features: (x: Tensor) => Tensor;
  dispose: () => void;
}

/** FID and KID of fidSamples samples against as many test images, in the fid-net's (and Inception's) features. */
export async function fid(s: EvaluationState): Promise<FidResult[] | NotApplicable> {
  if (!hasDecoder(s)) return noDecoder(s);
  const n = s.settings.fidSamples;
  if (n === 0) return { na: "FID skipped (fidSamples = 0)" };
  const test = await loadSplit(s, "test");
  const train = await loadSplit(s, "train");
  const count = Math.min(n, test.key.count, train.key.count);
  if (count < 2) return { na: `too few images for FID (${count})` };
  const sampled = samples(s).tokens.narrow(0, 0, count);
  // Everything in palette space: real images quantized and painted back, as the model sees them.
  const images: FidImages = {
    samples: keep(tidy(() => s.run.palette.dequantize(sampled))),
    test: keep(tidy(() => s.run.palette.dequantize(test.tokens.narrow(0, 0, count)))),
    train: keep(tidy(() => s.run.palette.dequantize(train.tokens.narrow(0, 0, count)))),
  };
  const results: FidResult[] = [];
  let extractors: FeatureExtractor[] = [];
  try {
    extractors = await featureExtractors(s);
    for (const e of extractors) results.push(timed(s, `FID/KID in ${e.network} features (${count} vs ${count})`, () => tidy(() => fidInFeatures(s, e, images, count))));
  } finally {
    for (const e of extractors) e.dispose(); // every network, also when one measurement threw
    for (const t of Object.values(images)) t.dispose();
  }
  return results;
}

/** The fid-net (trained first when missing) and, with settings.inception, the TorchScript Inception-v3. */
async function featureExtractors(s: EvaluationState): Promise<FeatureExtractor[]> {
  const extractors: FeatureExtractor[] = [];
  const fidNet = await loadOrTrainFidNet(s);
  extractors.push({ network: "fid-net", info: fidNet.info, features: (x) => fidNet.net.features(x, s.settings.batchSize), dispose: () => fidNet.net.dispose() });
  if (s.settings.inception !== null) {
    try {
      const inception = InceptionFeatures.load(s.settings.inception, { device: s.device }); // the heaviest network of the evaluation; features come back on the CPU
      extractors.push({ network: "inception", info: `TorchScript Inception-v3 ${resolve(s.settings.inception)}`, features: (x) => inception.features(x, 32), dispose: () => inception.dispose() });
    } catch (err) {
      fidNet.net.dispose(); // Inception could not be loaded: the fid-net is not handed back either
      throw err;
    }
  }
  return extractors;
}

/** FID and KID of the samples (and of training images, the floor) against the test images, in e's features. Call inside tidy. */
function fidInFeatures(s: EvaluationState, e: FeatureExtractor, images: FidImages, count: number): FidResult {
  const fs = e.features(images.samples);
  const ft = e.features(images.test);
  const fr = e.features(images.train);
  const kidOptions = { subsets: s.settings.kidSubsets, subsetSize: Math.min(s.settings.kidSubsetSize, count), seed: s.settings.seed };
  return {
    network: e.network,
    networkInfo: e.info,
    featureDim: fs.size(1),
    samples: count,
    fid: fidOf(fs, ft),
    fidTrainVsTest: fidOf(fr, ft),
    kid: kernelInceptionDistance(fs, ft, kidOptions),
    kidTrainVsTest: kernelInceptionDistance(fr, ft, kidOptions),
  };
}

/** The FID CNN in settings.fidNet (default fid-nets/<dataset>), trained there first when the folder has none. */
async function loadOrTrainFidNet(s: EvaluationState): Promise<{ net: FidNet; info: string }> {
  const data = s.run.config.data;
  const classes = data.classes !== null ? `-classes-${data.classes.join("+")}` : "";
  const dir = s.settings.fidNet ?? join("fid-nets", `${data.name}${classes}`.replace(/[^A-Za-z0-9._+-]+/g, "_"));
  if (!existsSync(join(dir, "fid-net.json"))) await trainAndSaveFidNet(s, dir);
  const { net, info } = loadFidNet(dir);
  return { net, info: `${dir} (CNN, test accuracy ${(100 * info.testAccuracy).toFixed(2)}% on ${info.dataset})` };
}

/** Trains the FID CNN on the run's data (its classes) and saves it in dir, for every later evaluation. */
async function trainAndSaveFidNet(s: EvaluationState, dir: string): Promise<void> {
  const data = s.run.config.data;
  requireLabels((await loadSplit(s, "train")).set); // the FID CNN is a classifier of the in-distribution classes
  // The whole training split (of the run's classes) unless fidNetTrainImages limits it — not the
  // evaluation's trainImages: the network is saved and shared by every later evaluation.
  const limit = s.settings.fidNetTrainImages;
  s.log(`fid-net: none in ${dir}; training one on ${limit === null ? "all" : `the first ${limit}`} of ${data.name}'s training split (once; later evaluations reuse it)`);
  const spec = (split: DatasetSplit): DatasetSpec => ({
    name: data.name,
    split,
    ...(data.dataDir !== null ? { dataDir: data.dataDir } : {}),
    ...(data.classes !== null ? { classes: data.classes } : {}),
    ...(limit !== null ? { limit } : {}),
  });
  const train = await loadDataset(spec("train"));
  const test = await loadDataset(spec("test"));
  try {
    const result = trainFidNet(train, test, { seed: s.settings.seed, onProgress: (m) => s.log(`  fid-net: ${m}`) });
    saveFidNet(dir, result.net, { dataset: data.name, testAccuracy: result.testAccuracy, epochs: result.epochs, trainImages: setSize(train), testImages: setSize(test) });
    s.log(`fid-net: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, saved in ${dir}`);
    result.net.dispose();
  } finally {
    disposeSet(train);
    disposeSet(test);
  }
}
