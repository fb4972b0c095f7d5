// Which r(x) an evaluation uses: --concat-layers, a fixed --layer, or ("auto") the iGPT probing
// protocol's layer sweep (a linear probe per encoder layer, the best on a held-out validation part
// of the training split wins); and the features of a split at that choice. The probe fitting lives
// here too, since the sweep fits the probe the probe stage then reports.
import { cat, keep, tidy, type Tensor } from "../torch/index.ts";
import { fitLinearProbe, type ProbeFit } from "./linear-probe.ts";
import type { LayerChoice, LayerProbe, ProbeResult } from "./evaluation-types.ts";
import { modelLayer, numClasses, requireLabels, timed, type EvaluationState, type LoadedSplit, type SplitName } from "./evaluation-state.ts";
import { featureTaps, layerFeatures, loadSplit } from "./evaluation-data.ts";

/** r(x) of a split as every feature-based number uses it (the chosen layer, see layerChoice), float32 (N, d). */
export async function chosenFeatures(s: EvaluationState, which: SplitName): Promise<Tensor> {
  const { layer } = await layerChoice(s);
  const all = await layerFeatures(s, which);
  if (layer !== "concat") return all[tapIndex(s, layer)]!;
  let joined = s.concatFeatures.get(which);
  if (!joined) {
    joined = keep(tidy(() => cat(all, 1)));
    s.concatFeatures.set(which, joined);
  }
  return joined;
}

/**
 * Which r(x) the probe, kNN and feature-based OOD scores use: --concat-layers, a fixed --layer, or
 * ("auto") the layer sweep's choice on the validation part of the training split; without labels
 * to choose on, the run's model.representationLayer.
 */
export async function layerChoice(s: EvaluationState): Promise<LayerChoice> {
  if (s.choice) return s.choice;
  const taps = featureTaps(s);
  const fixed = s.settings.representationLayer;
  const own = modelLayer(s);
  const all = s.settings.rowBlocks ? `all ${taps.length} blocks (row and column block of each layer)` : `all ${taps.length} layers`;
  if (s.settings.concatLayers) s.choice = { layer: "concat", how: `the r(x) of ${all} concatenated (--concat-layers)` };
  else if (fixed !== "auto") s.choice = { layer: fixed, how: `${tapName(fixed)} (--layer)` };
  else if (taps.length === 1) s.choice = { layer: 1, how: "the only encoder layer" };
  else if ((await loadSplit(s, "train")).set.labels === null) s.choice = { layer: own, how: `the run's representation layer ${own} (no labels to choose a layer on)` };
  else s.choice = await layerSweep(s);
  s.log(`representation: ${s.choice.how}`);
  return s.choice;
}

/**
 * The iGPT probing protocol: a linear probe on every layer's r(x), each with its L2 chosen on the
 * same held-out validation part of the training split; the layer with the best validation accuracy
 * wins (ties: the shallower layer). Test accuracies are measured only after the choice, as a report.
 * The chosen layer's probe becomes the evaluation's probe.
 */
async function layerSweep(s: EvaluationState): Promise<LayerChoice> {
  const { train, test } = await labelledSplits(s);
  const taps = featureTaps(s);
  const trainFeatures = await layerFeatures(s, "train");
  const testFeatures = await layerFeatures(s, "test");
  const fits = trainFeatures.map((f, i) => timed(s, `linear probe, ${tapName(taps[i]!)}`, () => fitProbe(s, f, train, test, true)));
  const validation = fits.map((f) => f.validationAccuracy);
  const best = chooseLayer(validation) - 1; // index into taps
  const sweep: LayerProbe[] = fits.map((f, i) => ({
    layer: taps[i]!,
    validationAccuracy: f.validationAccuracy,
    trainAccuracy: f.trainAccuracy,
    testAccuracy: f.probe.accuracy(testFeatures[i]!, test.set.labels!),
    l2: f.l2,
  }));
  const of = s.settings.rowBlocks ? `${taps.length} blocks` : `${taps.length}`;
  const how = `${tapName(taps[best]!)} of ${of}: the best linear-probe accuracy on the validation part of the training split`;
  const chosen = fits[best]!;
  s.probe = { probe: chosen.probe, result: probeResult(chosen, train, test, testFeatures[best]!, taps[best]!, how, sweep) };
  fits.forEach((f, i) => i !== best && f.probe.dispose());
  return { layer: taps[best]!, how };
}

/** "layer 2", or "layer 1.5 (the row block of layer 2)". */
export function tapName(layer: number): string {
  return Number.isInteger(layer) ? `layer ${layer}` : `layer ${layer} (the row block of layer ${layer + 0.5})`;
}

/** The index of a tap (layer l, or row block l − ½) in layerFeatures' list. */
function tapIndex(s: EvaluationState, layer: number): number {
  const i = featureTaps(s).indexOf(layer);
  if (i < 0) throw new RangeError(`r(x) at layer ${layer}: not one of this evaluation's taps [${featureTaps(s).join(", ")}]`);
  return i;
}

/** The layer (1-based position in the list) with the best validation accuracy; ties go to the shallower layer. */
export function chooseLayer(validationAccuracy: readonly number[]): number {
  if (validationAccuracy.length === 0 || validationAccuracy.some((a) => !Number.isFinite(a))) {
    throw new RangeError(`chooseLayer: expected one finite validation accuracy per layer, got [${validationAccuracy.join(", ")}]`);
  }
  let best = 0;
  validationAccuracy.forEach((a, i) => {
    if (a > validationAccuracy[best]!) best = i;
  });
  return best + 1;
}

/** Both in-distribution splits; labels required. */
export async function labelledSplits(s: EvaluationState): Promise<{ train: LoadedSplit; test: LoadedSplit }> {
  const train = await loadSplit(s, "train");
  const test = await loadSplit(s, "test");
  requireLabels(train.set);
  requireLabels(test.set);
  return { train, test };
}

/** A linear probe on training features, L2 chosen on the validation part (validate: even for a one-value grid). */
export function fitProbe(s: EvaluationState, trainFeatures: Tensor, train: LoadedSplit, test: LoadedSplit, validate: boolean): ProbeFit {
  return fitLinearProbe(trainFeatures, train.set.labels!, {
    validationFraction: s.settings.probeValidationFraction,
    seed: s.settings.seed,
    numClasses: numClasses(train.set, test.set),
    validate,
    ...(s.settings.probeL2Grid !== null ? { l2Grid: s.settings.probeL2Grid } : {}),
  });
}

/** A fitted probe's report, its test accuracy measured on testFeatures (N, d). */
export function probeResult(fit: ProbeFit, train: LoadedSplit, test: LoadedSplit, testFeatures: Tensor, layer: number | "concat", how: string, layers: LayerProbe[] | null): ProbeResult {
  return {
    trainAccuracy: fit.trainAccuracy,
    validationAccuracy: fit.validationAccuracy,
    testAccuracy: fit.probe.accuracy(testFeatures, test.set.labels!),
    l2: fit.l2,
    grid: fit.grid,
    trainImages: train.key.count,
    testImages: test.key.count,
    featureDim: testFeatures.size(1),
    representationLayer: layer,
    layerSelection: how,
    layers,
  };
}
