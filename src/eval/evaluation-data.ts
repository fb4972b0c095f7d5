// An evaluation's data: the in-distribution splits and the OOD set, loaded once and quantized with
// the run's palette, and the per-image values computed from them once and cached under
// <run>/cache/ (eval-cache.ts): r(x) of every encoder layer, and bits/dim.
import { keep, tidy, type Tensor } from "../torch/index.ts";
import { loadDataset, type DatasetSpec, type DatasetSplit } from "../data/datasets/index.ts";
import { contentFingerprint, disposeSet, imageShape, setSize } from "../data/image-set.ts";
import { passImages } from "./features.ts";
import type { DataIdentity } from "./evaluation-types.ts";
import { progressLog, seconds, timed, type EvaluationState, type LoadedSplit, type SplitName } from "./evaluation-state.ts";

/** The in-distribution training or test split (the run's classes), or the OOD set; quantized once. */
export async function loadSplit(s: EvaluationState, which: SplitName): Promise<LoadedSplit> {
  const existing = s.splits.get(which);
  if (existing) return existing;
  const spec = splitSpec(s, which);
  const [h, w] = [s.run.modelConfig.height, s.run.modelConfig.width];
  const started = performance.now();
  const set = await loadDataset(spec);
  const [sh, sw, sc] = imageShape(set);
  if (sh !== h || sw !== w || sc !== s.run.palette.channels) {
    disposeSet(set);
    throw new Error(`${set.source}: images are ${sh}×${sw}×${sc}, but the run's model takes ${h}×${w}×${s.run.palette.channels}`);
  }
  const tokens = keep(tidy(() => s.run.palette.quantize(set.images)));
  const identity: DataIdentity = { source: set.source, fingerprint: contentFingerprint(set), images: setSize(set) };
  const key = {
    dataset: spec.name,
    split: spec.split,
    count: identity.images,
    variant: spec.classes ? `classes-${spec.classes.join("+")}` : undefined,
    source: `${identity.source} #${identity.fingerprint}`,
  };
  const loaded: LoadedSplit = { set, tokens, identity, key: stripUndefined(key) };
  s.splits.set(which, loaded);
  s.log(`data: ${set.source}: ${identity.images} images, content ${identity.fingerprint} (${seconds(started)})`);
  return loaded;
}

/** What to load for a split: the OOD settings (at the model's size and channels), or the run's data, classes and the evaluation's limit. */
function splitSpec(s: EvaluationState, which: SplitName): DatasetSpec {
  const data = s.run.config.data;
  if (which === "ood") {
    const name = s.settings.ood;
    if (name === null) throw new Error(`no OOD dataset: pass --ood NAME (the run's data is ${data.name}, which has no default partner)`);
    return {
      name,
      split: s.settings.oodSplit as DatasetSplit,
      ...(s.settings.oodDataDir !== null ? { dataDir: s.settings.oodDataDir } : {}),
      ...(s.settings.oodImages !== null ? { limit: s.settings.oodImages } : {}),
      size: [s.run.modelConfig.height, s.run.modelConfig.width],
      channels: s.run.palette.channels as 1 | 3,
    };
  }
  const limit = which === "train" ? s.settings.trainImages : s.settings.testImages;
  return {
    name: data.name,
    split: which,
    ...(data.dataDir !== null ? { dataDir: data.dataDir } : {}),
    ...(data.classes !== null ? { classes: data.classes } : {}),
    ...(limit !== null ? { limit } : {}),
  };
}

/** Source, content fingerprint and size of every split loaded so far (for eval.json). */
export function dataIdentities(s: EvaluationState): Record<string, DataIdentity> {
  return Object.fromEntries([...s.splits].map(([which, split]) => [which, { ...split.identity }]));
}

/** The encoder points the evaluation pools r(x) from: layers 1..L, with --row-blocks also each row block as l − ½. */
export function featureTaps(s: EvaluationState): number[] {
  return s.run.model.representationTaps(s.settings.rowBlocks);
}

/**
 * r(x) at every tap of a split (featureTaps: [layer 1, …, layer L], or [0.5, 1, …, L] with
 * --row-blocks), each float32 (N, d), from one encoder pass, cached per tap ("layer1", "layer1.5":
 * a layer's features do not depend on whether the row blocks were taken too). Owned by the
 * evaluation (disposed with it).
 */
export async function layerFeatures(s: EvaluationState, which: SplitName): Promise<Tensor[]> {
  const memo = s.layerFeatures.get(which);
  if (memo) return memo;
  const split = await loadSplit(s, which);
  const taps = featureTaps(s);
  const rowBlocks = s.settings.rowBlocks;
  const keys = taps.map((l) => ({ kind: "features", ...split.key, variant: joinVariant(split.key.variant, `layer${l}`) }));
  const what = rowBlocks ? `${taps.length} blocks` : `${taps.length} layers`;
  const features = s.cache.tensors(keys, () =>
    timed(s, `features of ${split.set.source} (${split.key.count}, ${what})`, () =>
      passImages(s.run.model, split.tokens, { batchSize: s.settings.batchSize, allLayers: true, rowBlocks, withNll: false, onProgress: progressLog(s, "features") }).layerFeatures!,
    ),
  ).map((t) => keep(t));
  s.layerFeatures.set(which, features);
  return features;
}

/** Per-image bits/dim of a split; for "train" only the first likelihoodTrainImages. */
export async function bitsPerDim(s: EvaluationState, which: SplitName): Promise<Float64Array> {
  const memo = s.bits.get(which);
  if (memo) return memo;
  const split = await loadSplit(s, which);
  const count = which === "train" ? Math.min(s.settings.likelihoodTrainImages, split.key.count) : split.key.count;
  const bits = s.cache.array({ kind: "bits-per-dim", ...split.key, count }, () =>
    timed(s, `bits/dim of ${split.set.source} (${count})`, () =>
      tidy(() => passImages(s.run.model, split.tokens.narrow(0, 0, count), { batchSize: s.settings.batchSize, withFeatures: false, withNll: true, onProgress: progressLog(s, "bits/dim") }).bitsPerDim!),
    ),
  );
  s.bits.set(which, bits);
  return bits;
}

function joinVariant(a: string | undefined, b: string): string {
  return a === undefined ? b : `${a}-${b}`;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
