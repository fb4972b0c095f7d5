// The memory guard (docs/training.md, "Memory guard"): before a run allocates its model, the
// estimate of memory-estimate.ts is compared with the memory available (available-memory.ts); a run
// that would not fit is refused with the estimate and a batch size that fits, instead of growing
// until the kernel kills it (exit 137, no message). TrainOptions.force (`gcrl train --force`) skips it.
import { datasetInfo, defaultPaletteSize } from "../data/datasets/index.ts";
import { RunConfigError } from "./run-config-validate.ts";
import type { RunConfig } from "./run-config.ts";
import { availableMemory, formatBytes, type AvailableMemory } from "./available-memory.ts";
import { estimateTrainingMemory, largestBatchThatFits, type MemoryEstimate, type MemoryEstimateInput } from "./memory-estimate.ts";

/** The suggested batch size leaves this share of the memory free: room for the estimate's error (±30%). */
const SUGGESTION_HEADROOM = 0.9;

/** The sizes the estimate takes from the data. */
export interface DataSizes {
  height: number;
  width: number;
  channels: 1 | 3;
  trainImages: number;
  evalImages: number;
  /** The kNN's labelled neighbours (0 without evaluation or labels). */
  knnImages: number;
}

/** A run refused by the memory guard; exit code 2 like every config problem. */
export class MemoryGuardError extends RunConfigError {
  override name = "MemoryGuardError";
  constructor(
    readonly estimate: MemoryEstimate,
    readonly available: AvailableMemory,
    /** The largest batch size that fits (with headroom), or 0 when even the smallest does not. */
    readonly suggestedBatchSize: number,
    message: string,
  ) {
    super("not enough memory", [message]);
  }
}

/**
 * The data sizes of a built-in dataset from the registry, without loading it (the training split
 * within data.limit; class filters are ignored: an upper bound); null for image folders, whose
 * sizes are known only once loaded.
 */
export function registeredDataSizes(config: RunConfig, knnTrainImages: number): DataSizes | null {
  const info = datasetInfo(config.data.name);
  if (info.size === null || info.channels === null || info.splitSizes === null) return null;
  const trainImages = Math.min(config.data.limit ?? Infinity, info.splitSizes.train);
  const evalImages = Math.min(config.data.evalImages, info.splitSizes.test);
  const knnImages = evalImages > 0 && info.numClasses !== null ? Math.min(knnTrainImages, trainImages) : 0;
  return { height: info.size[0], width: info.size[1], channels: info.channels, trainImages, evalImages, knnImages };
}

/** The estimate's input for a run: the model the trainer builds (K: palette.k or the default) and its settings. */
export function memoryInput(config: RunConfig, sizes: DataSizes): MemoryEstimateInput {
  const vocabSize = config.palette.k ?? defaultPaletteSize(sizes.channels);
  return {
    model: { ...config.model, height: sizes.height, width: sizes.width, vocabSize },
    channels: sizes.channels,
    mode: config.objective.mode,
    batchSize: config.train.batchSize,
    precision: config.train.precision,
    trainImages: sizes.trainImages,
    evalImages: sizes.evalImages,
    knnImages: sizes.knnImages,
  };
}

/** The guard's verdict on a run that goes ahead. */
export interface MemoryCheck {
  estimate: MemoryEstimate;
  available: AvailableMemory;
  /** False only when `force` let a run through that does not fit. */
  fits: boolean;
}

/**
 * Refuses (MemoryGuardError) a run whose estimated peak exceeds what this process may reach: the
 * available memory plus what it already holds (the estimate counts the whole process), unless
 * `force`. `available` and `heldBytes` default to this machine's and this process's.
 */
export function checkTrainingMemory(
  input: MemoryEstimateInput,
  options: { force?: boolean; available?: AvailableMemory; heldBytes?: number } = {},
): MemoryCheck {
  const estimate = estimateTrainingMemory(input);
  const available = options.available ?? availableMemory();
  const room = available.bytes + (options.heldBytes ?? process.memoryUsage.rss());
  const fits = estimate.total <= room;
  if (fits || options.force === true) return { estimate, available, fits };
  const batch = largestBatchThatFits(input, SUGGESTION_HEADROOM * room);
  throw new MemoryGuardError(estimate, available, batch, refusal(input, estimate, available, batch));
}

/** The trainer's line about memory: "memory: about 4.3 GiB estimated, 22.8 GiB available (…)". */
export function describeMemoryCheck(check: MemoryCheck): string {
  const { estimate, available } = check;
  return `memory: about ${formatBytes(estimate.total)} estimated (activations ${formatBytes(estimate.activations)}), ${formatBytes(available.bytes)} available (${available.source})` +
    (check.fits ? "" : "; more than available: training anyway (--force)");
}

/** The refusal: the estimate part by part, what is available, and what to change. */
function refusal(input: MemoryEstimateInput, e: MemoryEstimate, available: AvailableMemory, batch: number): string {
  const parts =
    `${(e.parameters / 1e6).toFixed(e.parameters < 1e7 ? 2 : 0)}M parameters: ${formatBytes(e.model)} of weights and gradients and ${formatBytes(e.optimizer)} of AdamW moments; ` +
    `activations of one step at batch ${input.batchSize}: ${formatBytes(e.activations)} (${formatBytes(e.activationsPerImage)} per image); data and runtime: ${formatBytes(e.base + e.data)}`;
  const fix = batch > 0
    ? `Lower the batch size: --train.batchSize ${batch} (about ${formatBytes(estimateTrainingMemory({ ...input, batchSize: batch }).total)})`
    : `No batch size fits, not even ${input.mode === "igpt" ? 1 : 2} images: make the model smaller (model.d, model.encoderLayers, model.decoderLayers, model.mlpRatio)`;
  return `training needs about ${formatBytes(e.total)} (${parts}), but ${formatBytes(available.bytes)} is available (${available.source}). ${fix}, or pass --force to train anyway.`;
}
