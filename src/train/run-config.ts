// RunConfig: everything a training run needs, as plain JSON-able data, declared once: each key's
// type, range, default and help line is in a section declaration (util/settings.ts) — the model's in
// model/config.ts, the augmentations' in data/augment/config.ts, the objective's in objectives.ts,
// the rest below — and RunConfig is the type derived from RUN_SETTINGS. A config file
// (configs/*.json) holds only overrides of RUN_DEFAULTS; the fully resolved config is written to
// every run folder (config.json), so a run is reproducible from its folder alone.
//
// Validation with messages that name the key, config files with "extends", `--model.d 256`
// overrides and the rules that tie keys together live in run-config-validate.ts; `--help` and the
// key tables of docs/configs.md are generated from these declarations.
import { z } from "zod";
import { MODEL_SETTINGS } from "../model/config.ts";
import { DEFAULT_STRONG_CONFIG, STRONG_SETTINGS, WEAK_SETTINGS } from "../data/augment/config.ts";
import { DATASET_NAMES } from "../data/datasets/registry.ts";
import { OBJECTIVE_SETTINGS } from "./objective-config.ts";
import { choice, custom, defaulted, int, intOrNull, num, numOrNull, orNullList, pair, text, textOrNull } from "../util/settings.ts";

const DATA_SETTINGS = z.strictObject({
  name: text({ placeholder: "NAME", default: "fashion-mnist", help: `dataset: ${DATASET_NAMES.join(", ")}, or folder:PATH; sets the default of the flips (off for digits)` }),
  dataDir: textOrNull({ placeholder: "DIR", default: null, help: "folder with the dataset's files; null: the dataset's usual place" }),
  limit: intOrNull({ min: 1, default: null, help: "train on the first N training images only; null: all" }),
  classes: custom(z.array(z.union([z.string().min(1), z.number().int().min(0)])).min(1).nullable(), {
    ...orNullList, default: null, expected: "null or a non-empty list of class names or label numbers",
    help: "train only on these classes (names or label numbers), the others can serve as near-OOD; null: all",
  }),
  evalImages: int({ min: 0, default: 1000, help: "test-split images for test NLL and kNN accuracy during training (0: none)" }),
  perturb: num({
    min: 0, lt: 1, default: 0, expected: "a probability in [0, 1)",
    help: "replace each training pixel by a random palette colour with this probability: a background model for the likelihood-ratio OOD score (0.1-0.3; 0: off)",
  }),
});

const PALETTE_SETTINGS = z.strictObject({
  k: intOrNull({ min: 2, max: 4096, default: null, help: "palette size K, 2..4096; null: 16 for grayscale, 512 for RGB" }),
  samplePixels: int({ min: 1, default: 100_000, help: "training pixels sampled to fit the palette (k-means), >= K" }),
});

const AUGMENT_SETTINGS = z.strictObject({
  weak: defaulted(WEAK_SETTINGS),
  strong: STRONG_SETTINGS.prefault(DEFAULT_STRONG_CONFIG as z.input<typeof STRONG_SETTINGS>),
});

const OPTIM_SETTINGS = z.strictObject({
  lr: num({ gt: 0, default: 3e-4, help: "peak learning rate of AdamW, reached after the warm-up" }),
  minLr: num({ min: 0, default: 0, help: "learning rate at the end of the cosine decay (<= lr)" }),
  warmupSteps: int({ min: 0, default: 500, help: "steps of linear warm-up from 0 to lr" }),
  weightDecay: num({ min: 0, default: 0.05, help: "AdamW weight decay (not on norms, biases and embeddings)" }),
  betas: pair({ default: [0.9, 0.95], unordered: true, expected: "[β1, β2] with both in [0, 1)", ok: (b1, b2) => b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, help: "AdamW β1,β2, each in [0, 1)" }),
  eps: num({ gt: 0, default: 1e-8, help: "AdamW epsilon" }),
  gradClip: num({ min: 0, default: 1, help: "clip the global gradient norm to this (0: off)" }),
});

/** The run stops at the first limit reached; at least one must be set. */
const BUDGET_SETTINGS = z.strictObject({
  epochs: intOrNull({ min: 1, default: null, help: "stop after N epochs (null: no limit); the run stops at the first limit reached" }),
  steps: intOrNull({ min: 1, default: 10_000, help: "stop after N optimizer steps (null: no limit)" }),
  minutes: numOrNull({ gt: 0, default: null, help: "stop after X minutes of training (null: no limit)" }),
});

export const PRECISIONS = ["fp32", "bf16"] as const;

const TRAIN_SETTINGS = z.strictObject({
  batchSize: int({ min: 1, default: 32, help: "images per optimizer step (>= 2 when a contrastive loss runs)" }),
  seed: int({ min: 0, max: 2 ** 32 - 1, default: 0, help: "seed of the initialisation, shuffles and augmentations" }),
  threads: intOrNull({ min: 1, default: null, help: "libtorch CPU threads (null: one per core); fix it for bit-exact resume" }),
  evalEvery: int({ min: 0, default: 1000, help: "evaluate test NLL and kNN every N steps (0: only at the end)" }),
  checkpointEvery: int({ min: 0, default: 500, help: "save a checkpoint every N steps (0: only at the end and on SIGINT/SIGTERM)" }),
  logEvery: int({ min: 1, default: 50, help: "print a progress line every N steps when not on a TTY" }),
  precision: choice(PRECISIONS, {
    default: "fp32",
    help: "matmul precision: fp32, or bf16 mixed precision (bf16 operands, fp32 accumulation, softmax, norms, losses and master weights; falls back to fp32 with a warning where the CPU lacks native bf16)",
  }),
});

/** Every key of a run config, in the order of --help, docs/configs.md and resolved configs. */
export const RUN_SETTINGS = z.strictObject({
  model: defaulted(MODEL_SETTINGS),
  data: defaulted(DATA_SETTINGS),
  palette: defaulted(PALETTE_SETTINGS),
  augment: defaulted(AUGMENT_SETTINGS),
  objective: defaulted(OBJECTIVE_SETTINGS),
  optim: defaulted(OPTIM_SETTINGS),
  budget: defaulted(BUDGET_SETTINGS),
  train: defaulted(TRAIN_SETTINGS),
});

export type RunConfig = z.output<typeof RUN_SETTINGS>;
export type ModelSection = RunConfig["model"];
export type DataSection = RunConfig["data"];
export type PaletteSection = RunConfig["palette"];
export type AugmentSection = RunConfig["augment"];
export type ObjectiveSection = RunConfig["objective"];
export type OptimSection = RunConfig["optim"];
export type BudgetSection = RunConfig["budget"];
export type TrainSection = RunConfig["train"];

/** Every default. Flips on: fashion-mnist's default; naming another dataset moves them to its default (off for digits). */
export const RUN_DEFAULTS: RunConfig = RUN_SETTINGS.parse({});
