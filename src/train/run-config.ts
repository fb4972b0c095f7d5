// RunConfig: everything a training run needs, as plain JSON-able data. A config file
// (configs/*.json) holds only overrides of RUN_DEFAULTS; the fully resolved config is written to
// every run folder (config.json), so a run is reproducible from its folder alone.
//
// Validation (unknown keys, wrong types, ranges — each message naming the key path), config files
// with "extends", CLI overrides (`--model.d 256`) and the --help table live in
// run-config-validate.ts; every key is described in docs/configs.md.
import { MODEL_DEFAULTS, type ModelConfig } from "../model/config.ts";
import type { GenerativeReduction, ObjectiveMode } from "./objectives.ts";
import { DEFAULT_STRONG_CONFIG, DEFAULT_WEAK_CONFIG, type StrongAugmentOptions, type WeakAugmentOptions } from "../data/augment/config.ts";

/** The model section: ModelConfig without the data-given sizes (height, width, vocabSize). */
export type ModelSection = Omit<ModelConfig, "height" | "width" | "vocabSize">;

export interface DataSection {
  /**
   * Dataset name (src/data/datasets/registry.ts): fashion-mnist, mnist, mnist-digits, cifar10, cifar100, folder:PATH.
   * It sets the default of augment.weak.flip and augment.strong.flip (off for digits).
   */
  name: string;
  /** Folder with the dataset's files; null = the dataset's usual place. */
  dataDir: string | null;
  /** Use only the first N training images (null: all). */
  limit: number | null;
  /** Train only on these classes (names or label numbers); null: all. The others can serve as near-OOD. */
  classes: (string | number)[] | null;
  /** Held-out evaluation images taken from the test split (test NLL, kNN accuracy during training). */
  evalImages: number;
  /**
   * Probability μ that a training pixel (both views) is replaced by a uniform random palette colour
   * (data/perturb.ts): a run with μ > 0 is a background model for the likelihood-ratio OOD score
   * (Ren et al. 2019 use 0.1–0.3). 0: off. Evaluation images are never perturbed.
   */
  perturb: number;
}

export interface PaletteSection {
  /** Palette size K; null = 16 for grayscale, 512 for RGB. */
  k: number | null;
  /** Pixels sampled for k-means. */
  samplePixels: number;
}

export interface AugmentSection {
  /** In a resolved config (resolveRunConfig), every key is present. */
  weak: WeakAugmentOptions;
  strong: StrongAugmentOptions;
}

export interface ObjectiveSection {
  /**
   * Which losses run: gcrl (α·L_g + β·L_c), igpt (L_g only: no strong view, beta ignored), simclr
   * (L_c only: no decoder, alpha ignored). The weight of a loss the mode runs must be > 0.
   */
  mode: ObjectiveMode;
  /** Weight α of the generative loss L_g. */
  alpha: number;
  /** Weight β of the contrastive loss L_c. */
  beta: number;
  /** NT-Xent temperature τ. */
  tau: number;
  /**
   * How L_g enters α·L_g: "pixel" (the mean NLL over B·H·W pixels, nats per pixel) or "image" (the
   * sum over an image's H·W pixels, mean over B images: the paper's and GCRL.md's form). "image"
   * with α equals "pixel" with α·H·W (docs/training.md, "The objective's scale"). Config files
   * written before this key existed load with "pixel", which is what they trained with.
   */
  generativeReduction: GenerativeReduction;
}

export interface OptimSection {
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Learning rate at the end of the cosine decay. */
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
}

/** The run stops at the first limit reached; at least one must be set. */
export interface BudgetSection {
  /** Stop after this many epochs (null: not a limit). */
  epochs: number | null;
  /** Stop after this many optimizer steps (null: not a limit). */
  steps: number | null;
  /** Stop after this many minutes of training (null: not a limit). */
  minutes: number | null;
}

export interface TrainSection {
  batchSize: number;
  /** Seed of the initialisation, shuffles and augmentations. */
  seed: number;
  /** libtorch threads (null: one per core). Fix it for bit-exact resume. */
  threads: number | null;
  /** Evaluate (test NLL, kNN) every N steps (0: only at the end). */
  evalEvery: number;
  /** Save a checkpoint every N steps (and at the end, on SIGINT/SIGTERM); 0: only then. */
  checkpointEvery: number;
  /** Print a plain progress line every N steps when not on a TTY. */
  logEvery: number;
  /**
   * Matmul precision: "fp32", or "bf16" mixed precision (Linear and attention matmuls on bfloat16
   * operands; accumulation, softmax, norms, losses and master weights in float32). On a CPU without
   * native bf16 (avx512_bf16 / amx_bf16) "bf16" falls back to fp32 with a warning.
   */
  precision: "fp32" | "bf16";
}

export interface RunConfig {
  model: ModelSection;
  data: DataSection;
  palette: PaletteSection;
  augment: AugmentSection;
  objective: ObjectiveSection;
  optim: OptimSection;
  budget: BudgetSection;
  train: TrainSection;
}

export const RUN_DEFAULTS: RunConfig = {
  model: { ...MODEL_DEFAULTS },
  data: { name: "fashion-mnist", dataDir: null, limit: null, classes: null, evalImages: 1000, perturb: 0 },
  palette: { k: null, samplePixels: 100_000 },
  // Flips on: fashion-mnist's default. Naming another dataset moves them to its default (off for digits).
  augment: { weak: { ...DEFAULT_WEAK_CONFIG }, strong: { ...DEFAULT_STRONG_CONFIG } },
  objective: { mode: "gcrl", alpha: 1, beta: 1, tau: 0.1, generativeReduction: "pixel" },
  optim: { lr: 3e-4, minLr: 0, warmupSteps: 500, weightDecay: 0.05, betas: [0.9, 0.95], eps: 1e-8, gradClip: 1 },
  budget: { epochs: null, steps: 10_000, minutes: null },
  train: { batchSize: 32, seed: 0, threads: null, evalEvery: 1000, checkpointEvery: 500, logEvery: 50, precision: "fp32" },
};
