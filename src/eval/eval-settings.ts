// EvalSettings: every choice `gcrl eval` makes, as plain data with documented defaults. The
// resolved settings are written into eval.json and stated in the report, so every number can be
// traced to how it was measured (docs/evaluation.md describes each one).
import { z } from "zod";
import { COMPRESSORS } from "./complexity.ts";
import { KNN_DEFAULTS } from "../metrics/knn.ts";
import { InputError } from "../util/input-error.ts";
import { bool, checkSettings, choice, custom, int, intOrNull, num, parseNumberText, SettingTextError, textOrNull } from "../util/settings.ts";

/** "auto" or a layer number ≥ 1. */
function parseLayerText(raw: string): number | "auto" {
  return raw === "auto" ? "auto" : parseNumberText(raw);
}

/** Comma-separated numbers. */
function parseNumberListText(raw: string): number[] {
  const items = raw.split(",");
  if (items.some((x) => x.trim() === "")) throw new SettingTextError(`expected comma-separated numbers, got '${raw}'`);
  return items.map(parseNumberText);
}

/**
 * Every choice `gcrl eval` makes, declared once (util/settings.ts): type, range, default, help and
 * the command-line option (`flag`) of each. The CLI's option tables, --help and docs/evaluation.md's
 * table are generated from this; library callers get the same checks (resolveEvalSettings).
 */
export const EVAL_SETTINGS = z.strictObject({
  batchSize: int({ flag: "batch-size", min: 1, default: 256, help: "images per forward pass" }),
  representationLayer: custom(z.union([z.literal("auto"), z.number().min(0.5).multipleOf(0.5)]), {
    flag: "layer", default: "auto", placeholder: "L|auto", expected: `"auto", an encoder layer >= 1, or (with --row-blocks) a layer's row block l - 0.5`, parse: parseLayerText,
    help: "encoder layer r(x) pools from (with --row-blocks, l - 0.5 is layer l's row block); auto: a linear probe per layer, the best on the validation part of the training split (iGPT's protocol; the run's layer when there are no labels)",
  }),
  concatLayers: bool({ flag: "concat-layers", default: false, help: "r(x) = every layer's pooled features side by side (L·d dims) instead of one layer's" }),
  rowBlocks: bool({
    flag: "row-blocks", default: false,
    help: "axial models: also pool r(x) after each layer's row block (as layer l - 0.5), so the layer sweep and --concat-layers cover every block (2·L points)",
  }),
  trainImages: intOrNull({ flag: "train-images", min: 1, default: null, help: "use the first N training images for the probe, kNN and OOD scorers (default: all)" }),
  testImages: intOrNull({ flag: "test-images", min: 1, default: null, help: "use the first N test images (default: all)" }),
  probeValidationFraction: num({ flag: "validation-fraction", placeholder: "F", gt: 0, lt: 1, default: 0.1, expected: "a fraction in (0, 1)", help: "probe: fraction of the training features held out to choose L2 (and the layer)" }),
  probeL2Grid: custom(z.array(z.number().min(0)).min(1).nullable(), {
    flag: "l2", default: null, placeholder: "LIST", expected: "comma-separated numbers >= 0", parse: parseNumberListText,
    help: "probe: comma-separated L2 strengths to try (default: the probe's grid)",
  }),
  knnK: int({ flag: "knn-k", placeholder: "K", min: 1, default: KNN_DEFAULTS.k, help: "kNN: neighbours that vote" }),
  knnTemperature: num({ flag: "knn-temperature", placeholder: "T", gt: 0, default: KNN_DEFAULTS.temperature, expected: "a number > 0", help: "kNN: votes weighted exp(cosine / T)" }),
  likelihoodTrainImages: int({ flag: "nll-train-images", min: 1, default: 5000, help: "training images whose mean bits/dim anchors the typicality score" }),
  samples: int({ flag: "samples", min: 1, default: 64, help: "unconditional samples in the report's grid" }),
  temperature: num({ flag: "sample-temperature", placeholder: "T", gt: 0, default: 1, expected: "a number > 0", help: "sampling temperature" }),
  topK: int({ flag: "top-k", placeholder: "K", min: 0, default: 0, help: "sample from the K most likely colours (0: all)" }),
  completionImages: int({ flag: "completions", min: 1, default: 8, help: "test images completed in the report" }),
  completionRows: intOrNull({ flag: "rows", placeholder: "R", min: 0, default: null, help: "completions: top rows given (default: half the image)" }),
  completionSamples: int({ flag: "completion-samples", min: 1, default: 4, help: "completions drawn per test image" }),
  fidSamples: int({ flag: "fid-samples", min: 0, default: 1000, help: "FID/KID: samples compared with as many test images (0: skip)" }),
  fidNet: textOrNull({ flag: "fid-net", placeholder: "DIR", default: null, help: "FID feature CNN folder (default: fid-nets/<dataset>, trained there when missing)" }),
  fidNetTrainImages: intOrNull({ flag: "fid-net-train-images", min: 10, default: null, help: "when the FID CNN must be trained: use the first N training images (default: all)" }),
  inception: textOrNull({ flag: "inception", placeholder: "PATH", default: null, help: "also FID/KID in the features of this TorchScript Inception-v3 (clean-fid's inception-2015-12-05.pt)" }),
  kidSubsets: int({ flag: "kid-subsets", min: 1, default: 100, help: "KID: random subsets averaged" }),
  kidSubsetSize: int({ flag: "kid-subset-size", min: 2, default: 1000, help: "KID: images per subset (capped at the sample count)" }),
  ood: textOrNull({ flag: "ood", placeholder: "NAME", default: null, help: "OOD dataset (default: mnist-digits for fashion-mnist, fashion-mnist for mnist, none otherwise)" }),
  oodDataDir: textOrNull({ flag: "ood-dir", placeholder: "DIR", default: null, help: "folder of the OOD dataset's files (default: its usual place)" }),
  oodSplit: choice(["train", "test", "all"], { flag: "ood-split", default: "test", expected: "train, test or all", help: "OOD split: train, test or all" }),
  oodImages: intOrNull({ flag: "ood-images", min: 1, default: null, help: "use the first N OOD images (default: all of the split)" }),
  background: textOrNull({ flag: "background", placeholder: "RUN", default: null, help: "background run for the likelihood-ratio score (same palette; trained with --data.perturb, Ren et al. 2019)" }),
  compressor: choice(COMPRESSORS, { flag: "compressor", default: "png", expected: "png or deflate", help: "complexity score's lossless compressor: png or deflate" }),
  oodKnnK: int({ flag: "knn-distance-k", placeholder: "K", min: 1, default: 50, help: "kNN-distance score: distance to the k-th nearest training feature" }),
  seed: int({ flag: "seed", placeholder: "S", min: 0, default: 0, help: "seed of the validation split, sampling and KID subsets" }),
});

/** The resolved evaluation settings (written into eval.json and stated in the report). */
export type EvalSettings = z.output<typeof EVAL_SETTINGS>;

export const EVAL_DEFAULTS: Readonly<EvalSettings> = Object.freeze(EVAL_SETTINGS.parse({}));

/**
 * EVAL_DEFAULTS with `settings` on top, checked: an unknown key or a bad value is an InputError
 * naming each ("eval settings: knnK: expected an integer >= 1, got 0"). Keys set to undefined count
 * as absent.
 */
export function resolveEvalSettings(settings: Partial<EvalSettings> = {}): EvalSettings {
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const { value, problems } = checkSettings(EVAL_SETTINGS, given);
  if (value === null) throw new InputError(problems.map((p) => `eval settings: ${p}`).join("\n"));
  return value;
}

/**
 * The usual far-OOD partner of each built-in dataset: Fashion-MNIST ↔ MNIST digits (the pair of
 * ../shared/design/GCRL.md section 4), null where none is available offline.
 */
export function defaultOodDataset(inDataset: string): string | null {
  switch (inDataset) {
    case "fashion-mnist":
      return "mnist-digits";
    case "mnist":
    case "mnist-digits":
      return "fashion-mnist";
    default:
      return null;
  }
}
