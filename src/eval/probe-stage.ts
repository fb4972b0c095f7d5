// The discriminative stage: the linear probe and the weighted kNN classifier on the chosen r(x)
// (layer-sweep.ts), test accuracy of each; both need labelled splits.
import type { Tensor } from "../torch/index.ts";
import { knnAccuracy } from "../metrics/knn.ts";
import type { KnnResult, ProbeResult } from "./evaluation-types.ts";
import { numClasses, timed, type EvaluationState, type LoadedSplit } from "./evaluation-state.ts";
import { chosenFeatures, fitProbe, labelledSplits, layerChoice, probeResult } from "./layer-sweep.ts";

/** The linear probe on the chosen r(x), fitted once (L2 chosen on a held-out part of the training features). */
export async function probe(s: EvaluationState): Promise<ProbeResult> {
  if (s.probe) return s.probe.result;
  const { train, test } = await labelledSplits(s);
  const choice = await layerChoice(s); // the layer sweep, when it runs, fits the chosen probe
  if (s.probe) return (s.probe as { result: ProbeResult }).result;
  const { trainFeatures, testFeatures } = await labelledFeatures(s);
  const fit = timed(s, "linear probe", () => fitProbe(s, trainFeatures, train, test, false));
  s.probe = { probe: fit.probe, result: probeResult(fit, train, test, testFeatures, choice.layer, choice.how, null) };
  return s.probe.result;
}

export async function knn(s: EvaluationState): Promise<KnnResult> {
  const { train, test, trainFeatures, testFeatures } = await labelledFeatures(s);
  const { knnK: k, knnTemperature: temperature } = s.settings;
  const accuracy = timed(s, "kNN", () =>
    knnAccuracy(trainFeatures, train.set.labels!, testFeatures, test.set.labels!, { k, temperature, numClasses: numClasses(train.set, test.set) }),
  );
  return { accuracy, k, temperature, trainImages: train.key.count, testImages: test.key.count };
}

/** Both in-distribution splits (labels required) and their features. */
async function labelledFeatures(s: EvaluationState): Promise<{ train: LoadedSplit; test: LoadedSplit; trainFeatures: Tensor; testFeatures: Tensor }> {
  const { train, test } = await labelledSplits(s);
  return { train, test, trainFeatures: await chosenFeatures(s, "train"), testFeatures: await chosenFeatures(s, "test") };
}
