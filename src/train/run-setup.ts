// Building a run, before its first step: the checks (config, resume, threads, memory), the run
// folder's lock, the data, the palette (fitted, or the run's on resume), the model, optimizer,
// loader and evaluator, the state a resume continues from, and the schedule's length.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AdamW, manualSeed, setRngState, type ComputeOptions } from "../torch/index.ts";
import { GCRLModel } from "../model/gcrl-model.ts";
import { loadDataset, defaultPaletteSize, type DatasetSpec } from "../data/datasets/index.ts";
import { disposeSet, imageShape, limitSet, setSize, type ImageSet } from "../data/image-set.ts";
import { PaletteQuantizer } from "../data/palette.ts";
import { PairLoader } from "../data/loader.ts";
import { pairAugment } from "../data/augment/index.ts";
import type { RunConfig } from "./run-config.ts";
import { checkedRunConfig } from "./run-config-validate.ts";
import { planBudget, estimateScheduleSteps, type BudgetPlan } from "./budget.ts";
import { Evaluator, KNN_TRAIN_IMAGES } from "./evaluate.ts";
import { disposeCheckpoint, hasCheckpoint, loadCheckpoint, type PendingSums, type TrainState } from "./checkpoint.ts";
import { RUN_FILES, RunFolderError, createRunFolder, removeStaleTemporaries, truncateMetrics } from "./run-folder.ts";
import { configDifferences, lookup, readRunConfigFile, type RunConfigFile } from "./run-config-file.ts";
import { acquireRunLock, type RunLock } from "./run-lock.ts";
import { checkThreads } from "./threads.ts";
import { checkTrainingMemory, memoryInput, registeredDataSizes, type DataSizes, type MemoryCheck } from "./memory-guard.ts";
import type { TrainOptions } from "./train-types.ts";
import { RunConfigError } from "./run-config-validate.ts";
import { LEADER_WORK_TIMEOUT_MS, type DataParallel } from "./data-parallel.ts";

/** What the checks before a run settle: the config it trains with and, on resume, the run's config.json. */
export interface PreparedRun {
  config: RunConfig;
  stored: RunConfigFile | null;
  /** Training images the kNN evaluation takes as neighbours (at most). */
  knnWanted: number;
  /** The memory guard's verdict; null while the data's sizes are unknown (then `memoryAfterLoading`) or on a GPU. */
  memory: MemoryCheck | null;
  /** Run the memory guard once the data is loaded (image folders, whose sizes the registry does not know). */
  memoryAfterLoading: boolean;
}

/** The training state a checkpoint holds, less its format fields and the optimizer's JSON. */
export type RunState = Omit<TrainState, "optimizer" | "format" | "version" | "savedAt">;

/** Everything a run's steps use, built from the prepared config and the data. */
export interface BuiltRun {
  trainSet: ImageSet;
  /** The first data.evalImages test images; null when data.evalImages is 0. */
  evalSet: ImageSet | null;
  /** The kNN's labelled neighbours (the first knnWanted training images); null without eval set or labels. */
  knnSet: ImageSet | null;
  /** [H, W, C] of the training images. */
  shape: [number, number, number];
  memory: MemoryCheck | null;
  palette: PaletteQuantizer;
  model: GCRLModel;
  optimizer: AdamW;
  loader: PairLoader;
  evaluator: Evaluator | null;
}

/** Things a run owns and disposes of at its end (in reverse order), an error included. */
export type Owned = { dispose(): void }[];

export const emptySums = (): PendingSums => ({ count: 0, loss: 0, generative: 0, contrastive: 0, contrastiveAccuracy: 0, gradNorm: 0 });

/**
 * The checks before anything is written or allocated: the config (on resume: the run's, where only
 * the budget may differ), train.threads, and the memory guard when the registry knows the data's
 * sizes. The guard reads host memory, so it is for CPU runs only.
 */
export function prepareRun(config: RunConfig, options: TrainOptions): PreparedRun {
  const dir = options.out;
  let stored: RunConfigFile | null = null;
  config = checkedRunConfig(config, "config"); // checked once: a config resolved at the edge passes as it is
  if (options.resume ?? false) {
    stored = readRunConfigFile(dir);
    const changed = configDifferences(stored.config, config);
    if (changed.length > 0) {
      const show = (p: string): string => `${p} (${JSON.stringify(lookup(stored!.config, p))} in the run, ${JSON.stringify(lookup(config, p))} given)`;
      throw new RunFolderError(
        `resuming ${dir}: only the budget (steps, epochs, minutes) can change when a run is resumed; these differ from its ${RUN_FILES.config}: ${changed.map(show).join(", ")}`,
      );
    }
    config = { ...stored.config, budget: { ...config.budget } };
  }
  checkThreads(config.train.threads);
  const worldSize = options.distributed?.worldSize ?? 1;
  if (config.train.batchSize % worldSize !== 0) {
    throw new RunConfigError("train.batchSize (--batch-size)", [
      `the global batch ${config.train.batchSize} is not divisible by the ${worldSize} data-parallel processes: each takes an equal shard; use a multiple of ${worldSize}`,
    ]);
  }
  const knnWanted = stored !== null ? Math.max(1, stored.evaluation.knn.trainImages) : (options.knnTrainImages ?? KNN_TRAIN_IMAGES);
  if (!(Number.isInteger(knnWanted) && knnWanted >= 1)) throw new RangeError(`knnTrainImages: expected a positive integer, got ${knnWanted}`);
  const guard = (options.device ?? "cpu") === "cpu";
  const sizes = guard ? registeredDataSizes(config, knnWanted) : null;
  const memory = sizes === null ? null : checkTrainingMemory(memoryInput(config, sizes), { force: options.force ?? false });
  return { config, stored, knnWanted, memory, memoryAfterLoading: guard && sizes === null };
}

/**
 * Takes the run folder's lock (src/train/run-lock.ts). A new run's folder must be absent or empty
 * (but for a stale lock): checked before locking, for the clearer message, and again once locked,
 * against a second trainer that got there first.
 */
export function lockRunFolder(dir: string, resume: boolean, commandLine: readonly string[] | undefined): RunLock {
  if (!resume) createRunFolder(dir);
  const lock = acquireRunLock(dir, commandLine !== undefined ? commandLine.join(" ") : "train() (library)");
  if (!resume) {
    try {
      createRunFolder(dir);
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  return lock;
}

/**
 * Loads the data and builds the palette, model, optimizer, loader and evaluator, in this order
 * (manualSeed(train.seed) right before the model, so its initial weights follow from the seed).
 * Everything built is pushed onto `owned`. The model computes with `compute` (runCompute of the config).
 * Data-parallel (`dp`): rank 0's palette is every rank's, the loader yields this rank's shard of each
 * global batch, and only rank 0 evaluates.
 */
export async function buildRun(prepared: PreparedRun, options: TrainOptions, owned: Owned, compute: ComputeOptions, dp: DataParallel | null = null): Promise<BuiltRun> {
  const { config, knnWanted } = prepared;
  const device = options.device ?? "cpu";
  const { trainSet, evalSet } = await loadRunData(config, owned);
  const memory = prepared.memoryAfterLoading
    ? checkTrainingMemory(memoryInput(config, loadedSizes(trainSet, evalSet, knnWanted)), { force: options.force ?? false })
    : prepared.memory;
  const shape = imageShape(trainSet);
  const palette = dp === null || dp.isLeader
    ? runPalette(config, options.out, prepared.stored !== null, trainSet, shape[2])
    : PaletteQuantizer.fromJSON(JSON.parse(dp.group.shareText(null, 0, LEADER_WORK_TIMEOUT_MS)), "rank 0's palette");
  if (dp?.isLeader === true) dp.group.shareText(JSON.stringify(palette.toJSON()));
  owned.push(palette);
  const { model, optimizer } = buildModel(config, shape, palette.k, device, compute, owned);
  const mode = config.objective.mode;
  const loader = new PairLoader(trainSet, palette, pairAugment(config.augment.weak, config.augment.strong), {
    batchSize: config.train.batchSize,
    seed: config.train.seed,
    strong: mode !== "igpt",
    perturb: config.data.perturb > 0 ? { mu: config.data.perturb, k: palette.k } : null,
    shard: dp === null ? null : { rank: dp.rank, count: dp.worldSize },
  });
  const evaluates = dp === null || dp.isLeader;
  const knnSet = evaluates && evalSet !== null && trainSet.labels !== null ? limitSet(trainSet, Math.min(knnWanted, setSize(trainSet))) : null;
  if (knnSet !== null) owned.push({ dispose: () => disposeSet(knnSet) });
  const evaluator = evaluates && evalSet !== null ? new Evaluator(model, palette, evalSet, knnSet, { mode, batchSize: config.train.batchSize, device }) : null;
  if (evaluator !== null) owned.push(evaluator);
  return { trainSet, evalSet, knnSet, shape, memory, palette, model, optimizer, loader, evaluator };
}

/** The training split (data.limit, data.classes) and the first data.evalImages of the test split (null: none). */
async function loadRunData(config: RunConfig, owned: Owned): Promise<{ trainSet: ImageSet; evalSet: ImageSet | null }> {
  const spec = (split: "train" | "test", limit: number | null): DatasetSpec => ({
    name: config.data.name,
    split,
    ...(config.data.dataDir !== null ? { dataDir: config.data.dataDir } : {}),
    ...(config.data.classes !== null ? { classes: config.data.classes } : {}),
    ...(limit !== null ? { limit } : {}),
  });
  const trainSet = await loadDataset(spec("train", config.data.limit));
  owned.push({ dispose: () => disposeSet(trainSet) });
  const evalSet: ImageSet | null = config.data.evalImages > 0 ? await loadDataset(spec("test", config.data.evalImages)) : null;
  if (evalSet !== null) owned.push({ dispose: () => disposeSet(evalSet) });
  return { trainSet, evalSet };
}

/** The run's palette.json on resume (when written), else k-means on the training images (seed train.seed). */
function runPalette(config: RunConfig, dir: string, resume: boolean, trainSet: ImageSet, channels: number): PaletteQuantizer {
  const palettePath = join(dir, RUN_FILES.palette);
  return resume && existsSync(palettePath)
    ? PaletteQuantizer.load(palettePath)
    : PaletteQuantizer.fit(trainSet.images, { k: config.palette.k ?? defaultPaletteSize(channels === 1 ? 1 : 3), seed: config.train.seed, samplePixels: config.palette.samplePixels });
}

/**
 * The model (seeded by train.seed, on `device`, in training mode, computing with `compute`: the
 * run's precision, which its periodic evaluations use too) and AdamW with weight decay on
 * decayParameters() only.
 */
function buildModel(config: RunConfig, shape: [number, number, number], vocabSize: number, device: string, compute: ComputeOptions, owned: Owned): { model: GCRLModel; optimizer: AdamW } {
  manualSeed(config.train.seed);
  const model = new GCRLModel({ ...config.model, height: shape[0], width: shape[1], vocabSize }, compute);
  owned.push(model);
  if (device !== "cpu") model.toDevice(device);
  model.train();
  const optimizer = new AdamW(
    [
      { params: model.decayParameters(), weightDecay: config.optim.weightDecay },
      { params: model.noDecayParameters(), weightDecay: 0 },
    ],
    { lr: config.optim.lr, betas: [...config.optim.betas], eps: config.optim.eps },
  );
  owned.push(optimizer);
  return { model, optimizer };
}

/** The state of a run's first step: nothing done, nothing measured. */
export function freshState(): RunState {
  return {
    step: 0, position: { epoch: 0, batch: 0 }, elapsedSeconds: 0, scheduleSteps: null, pending: emptySums(),
    last: null, lastEval: null, best: { testNll: null, knnAccuracy: null },
  };
}

/**
 * On resume: the model, optimizer, RNG and state from the run's checkpoint (a fresh state when it
 * has none yet), metrics.jsonl cut back to the checkpoint's step, and that step recorded in the
 * resume entry of `runFile`. Returns the state and the checkpoint's step (null: none).
 */
export function restoreRun(dir: string, run: BuiltRun, runFile: RunConfigFile): { state: RunState; checkpointStep: number | null } {
  removeStaleTemporaries(dir);
  const { state, checkpointStep } = loadRunState(dir, run);
  truncateMetrics(join(dir, RUN_FILES.metrics), state.step);
  runFile.resumes[runFile.resumes.length - 1]!.step = state.step;
  return { state, checkpointStep };
}

/**
 * The model, optimizer, RNG and state from the run's checkpoint (a fresh state without one), writing
 * nothing: restoreRun's reading half, and all of a data-parallel rank other than 0's resume.
 */
export function loadRunState(dir: string, run: BuiltRun): { state: RunState; checkpointStep: number | null } {
  let state = freshState();
  let checkpointStep: number | null = null;
  if (hasCheckpoint(dir)) {
    const c = loadCheckpoint(dir);
    try {
      run.model.loadStateDict(c.model);
      run.optimizer.loadStateDict(c.optimizer);
      if (c.rng !== null) setRngState(c.rng);
      const { optimizer: _json, format: _f, version: _v, savedAt: _s, ...rest } = c.state;
      state = rest;
      checkpointStep = state.step;
    } finally {
      disposeCheckpoint(c);
    }
  }
  return { state, checkpointStep };
}

/**
 * The budget's plan, with state.scheduleSteps set from it: fixed by steps or epochs, or, when a
 * resume changes a minutes budget, re-estimated from the rate so far for the rest of the schedule.
 */
export function planSchedule(prepared: PreparedRun, state: RunState, batchesPerEpoch: number): BudgetPlan {
  const { config, stored } = prepared;
  const plan = planBudget(config.budget, batchesPerEpoch);
  if (plan.scheduleSteps !== null) state.scheduleSteps = plan.scheduleSteps;
  else if (stored !== null && state.scheduleSteps !== null && JSON.stringify(stored.config.budget) !== JSON.stringify(config.budget) && state.step > 0) {
    state.scheduleSteps = estimateScheduleSteps(state.step, state.step / Math.max(state.elapsedSeconds, 1e-9), plan.secondsLimit! - state.elapsedSeconds, config.optim.warmupSteps);
  }
  return plan;
}

/** The memory guard's data sizes of loaded sets (image folders, whose sizes the registry does not know). */
function loadedSizes(trainSet: ImageSet, evalSet: ImageSet | null, knnWanted: number): DataSizes {
  const [height, width, channels] = imageShape(trainSet);
  const evalImages = evalSet === null ? 0 : setSize(evalSet);
  const knnImages = evalImages > 0 && trainSet.labels !== null ? Math.min(knnWanted, setSize(trainSet)) : 0;
  return { height, width, channels: channels === 1 ? 1 : 3, trainImages: setSize(trainSet), evalImages, knnImages };
}
