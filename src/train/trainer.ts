// The trainer: `train(config, { out })` runs one GCRL / iGPT / SimCLR training run into a run
// folder, and `train(config, { out, resume: true })` continues it exactly (docs/training.md).
//
//   data      train split (data.limit, data.classes); eval = the first data.evalImages of the test split
//   palette   k-means on the training images (seed train.seed)
//   model     GCRLModel (H, W from the data, K from the palette), manualSeed(train.seed) first
//   optimizer AdamW, weight decay on decayParameters() only; warmupCosine over the step budget;
//             gradient clipping by total norm
//   checks    before anything is written: train.threads against the cores (threads.ts), the
//             memory guard (memory-guard.ts; options.force skips it), then the run folder's lock
//             (run-lock.ts), held until the run ends
//   loop      one tidy per step (batch, loss, backward, clip, step); NaN/Inf stops the run without
//             saving; metrics every train.logEvery steps; evaluation every train.evalEvery steps and
//             at the end; checkpoint every train.checkpointEvery steps, at the end and on abort
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { AdamW, Tensor, clipGradNorm, manualSeed, setNumThreads, getNumThreads, setRngState, stack, tidy, warmupCosine, bf16Supported, matmulPrecision, setMatmulPrecision, withCpuCache, type MatmulPrecision } from "../torch/index.ts";
import { GCRLModel } from "../model/gcrl-model.ts";
import type { ModelConfig } from "../model/config.ts";
import { loadDataset, defaultPaletteSize, type DatasetSpec } from "../data/datasets/index.ts";
import { disposeSet, imageShape, limitSet, setSize, type ImageSet } from "../data/image-set.ts";
import { PaletteQuantizer } from "../data/palette.ts";
import { PairLoader, type LoaderPosition } from "../data/loader.ts";
import { pairAugment } from "../data/augment/index.ts";
import { hybridLoss, natsToBitsPerDim } from "./objectives.ts";
import type { RunConfig } from "./run-config.ts";
import { resolveRunConfig } from "./run-config-validate.ts";
import { resolveStoredRunConfig } from "./run-file-check.ts";
import { planBudget, calibrationSteps, estimateScheduleSteps } from "./budget.ts";
import { Evaluator, KNN_TRAIN_IMAGES } from "./evaluate.ts";
import { KNN_DEFAULTS } from "../metrics/knn.ts";
import { ProgressReporter, formatDuration, formatEvalLine, formatTrainLine } from "./progress.ts";
import {
  disposeCheckpoint, hasCheckpoint, loadCheckpoint, saveCheckpoint,
  type BestMetric, type EvalMetrics, type PendingSums, type TrainMetrics, type TrainState,
} from "./checkpoint.ts";
import {
  RUN_FILES, RunFolderError, appendMetrics, checkRunFolder, createRunFolder,
  removeStaleTemporaries, truncateMetrics, type MetricsRecord,
} from "./run-folder.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";
import { acquireRunLock, type RunLock } from "./run-lock.ts";
import { checkThreads, threadsWarning } from "./threads.ts";
import { checkTrainingMemory, describeMemoryCheck, memoryInput, registeredDataSizes, type DataSizes, type MemoryCheck } from "./memory-guard.ts";

export const RUN_FORMAT = "gcrl.run";
export const RUN_VERSION = 1;

/** What config.json holds. */
export interface RunConfigFile {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  /** The gcrl version that started the run. */
  gcrl: string;
  /** The command line that started the run (null from the library API). */
  command: string[] | null;
  created: string;
  /** The fully resolved RunConfig (the budget is updated when a resume extends it). */
  config: RunConfig;
  /** The model config derived from it and the data (height, width, vocabSize filled in). */
  model: ModelConfig;
  data: {
    train: { source: string; images: number };
    eval: { source: string; images: number };
    /** [H, W, C]. */
    imageShape: [number, number, number];
    paletteK: number;
  };
  /** Fixed evaluation settings. */
  evaluation: { knn: { k: number; temperature: number; trainImages: number } };
  device: string;
  /** Each resume: when, at which step, with which command line. */
  resumes: { at: string; step: number; command: string[] | null }[];
}

export interface TrainProgress {
  /** Optimizer steps done. */
  step: number;
  /** The step limit, or the schedule length of a minutes budget (null until estimated). */
  totalSteps: number | null;
  /** Fractional epoch (loader position). */
  epoch: number;
  lr: number;
  loss: number;
  generative: number | null;
  contrastive: number | null;
  contrastiveAccuracy: number | null;
  elapsedSeconds: number;
}

export interface TrainOptions {
  /** The run folder (created; an existing non-empty folder is refused unless resuming). */
  out: string;
  /**
   * Continue the run in `out` from its checkpoint. The run's config.json is authoritative: `config`
   * must equal it except for the budget (which may change, e.g. to extend --steps).
   */
  resume?: boolean;
  /** Aborting finishes the current step, saves a checkpoint and resolves with status "interrupted". */
  signal?: AbortSignal;
  /** Called after every step. */
  onProgress?: (progress: TrainProgress) => void;
  /**
   * Where plain lines go besides train.log. Default: stdout, with a redrawn status line instead of
   * the periodic lines when stdout is a terminal. A function gets every plain line; null: nowhere.
   */
  log?: ((line: string) => void) | null;
  /** "cpu" (default), "cuda" or "cuda:N". Bit-exact resume is promised on the CPU with train.threads fixed. */
  device?: string;
  /** Recorded in config.json (the CLI passes process.argv). */
  commandLine?: readonly string[];
  /**
   * Training images whose representations are the kNN's labelled neighbours: the first N of the
   * training set (default 5,000; fewer when the set is smaller). Recorded in config.json; a resume
   * keeps the run's value.
   */
  knnTrainImages?: number;
  /**
   * Skip the memory guard: train even when the estimated peak memory exceeds what is available
   * (src/train/memory-guard.ts; `gcrl train --force`).
   */
  force?: boolean;
}

export type RunStatus = "completed" | "interrupted";

export interface RunResult {
  dir: string;
  status: RunStatus;
  /** Optimizer steps done (over all sessions). */
  step: number;
  /** The learning-rate schedule's length. */
  scheduleSteps: number | null;
  epoch: number;
  elapsedSeconds: number;
  parameters: number;
  /** The last logged training metrics, and the last evaluation. */
  last: TrainMetrics | null;
  lastEval: EvalMetrics | null;
  best: { testNll: BestMetric | null; knnAccuracy: BestMetric | null };
}

/** A non-finite loss or gradient norm stopped the run; nothing was saved after `checkpointStep`. */
export class NonFiniteLossError extends Error {
  constructor(
    /** The failing step (1-based: the step that would have been number `step`). */
    readonly step: number,
    /** "loss", "generative loss", "contrastive loss" or "gradient norm". */
    readonly quantity: string,
    readonly value: number,
    /** Step of the checkpoint kept in the run folder (null: none yet). */
    readonly checkpointStep: number | null,
    readonly dir: string,
  ) {
    super(
      `the ${quantity} was ${value} at step ${step}; stopped without saving. ` +
        (checkpointStep === null ? `No checkpoint was written yet. ` : `The last good checkpoint (step ${checkpointStep}) is kept in ${dir}. `) +
        `Lower optim.lr, lengthen optim.warmupSteps or set optim.gradClip, then start again${checkpointStep === null ? "" : ` or resume with gcrl train --resume ${dir}`}.`,
    );
    this.name = "NonFiniteLossError";
  }
}

/** The config a run folder was made with (config.json, validated). */
export function readRunConfigFile(dir: string): RunConfigFile {
  checkRunFolder(dir);
  const path = join(dir, RUN_FILES.config);
  let value: RunConfigFile;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as RunConfigFile;
  } catch (err) {
    throw new RunFolderError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (value?.format !== RUN_FORMAT) throw new RunFolderError(`${path}: format is ${JSON.stringify(value?.format)}, expected "${RUN_FORMAT}"`);
  if (value.version !== RUN_VERSION) throw new RunFolderError(`${path}: version ${JSON.stringify(value.version)} is not supported (this gcrl reads version ${RUN_VERSION})`);
  value.config = resolveStoredRunConfig(value, path); // sections that disagree (an edited model.d) are a RunFolderError
  return value;
}

/** Key paths where two configs differ, outside `budget` (e.g. ["model.d", "train.batchSize"]). */
export function configDifferences(a: unknown, b: unknown, path = ""): string[] {
  if (path === "budget") return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => configDifferences(a[k], b[k], path === "" ? k : `${path}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

function gcrlVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

const emptySums = (): PendingSums => ({ count: 0, loss: 0, generative: 0, contrastive: 0, contrastiveAccuracy: 0, gradNorm: 0 });

function lookup(config: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), config);
}

function defaultLog(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Trains a model into the run folder `options.out` (see the file header and docs/training.md).
 * Resolves when the budget is spent ("completed") or after an abort ("interrupted"); rejects with
 * NonFiniteLossError when a loss or gradient norm becomes NaN/Inf, and with RunFolderError for an
 * existing folder without `resume` or an unusable run folder.
 */
export async function train(config: RunConfig, options: TrainOptions): Promise<RunResult> {
  // Steps repeat the same tensor sizes: the caching CPU allocator hands freed activations back out
  // instead of faulting in fresh pages every step (native/src/allocator.cc; reference model on 2
  // idle cores: 9.5 → 7.4 s per step). OpenBLAS keeps its own threads: on one thread
  // (setBlasThreads(1)) a step takes 1.7× less CPU time but ~1.3× more wall-clock time.
  return withCpuCache(() => trainRun(config, options));
}

/** What the checks before a run settle: the config it trains with and, on resume, the run's config.json. */
interface PreparedRun {
  config: RunConfig;
  stored: RunConfigFile | null;
  /** Training images the kNN evaluation takes as neighbours (at most). */
  knnWanted: number;
  /** The memory guard's verdict; null while the data's sizes are unknown (then `memoryAfterLoading`) or on a GPU. */
  memory: MemoryCheck | null;
  /** Run the memory guard once the data is loaded (image folders, whose sizes the registry does not know). */
  memoryAfterLoading: boolean;
}

async function trainRun(config: RunConfig, options: TrainOptions): Promise<RunResult> {
  const prepared = prepareRun(config, options);
  const lock = lockRunFolder(options.out, prepared.stored !== null, options.commandLine);
  try {
    return await trainLocked(prepared, options);
  } finally {
    lock.release();
  }
}

/**
 * The checks before anything is written or allocated: the config (on resume: the run's, where only
 * the budget may differ), train.threads, and the memory guard when the registry knows the data's
 * sizes. The guard reads host memory, so it is for CPU runs only.
 */
function prepareRun(config: RunConfig, options: TrainOptions): PreparedRun {
  const dir = options.out;
  let stored: RunConfigFile | null = null;
  config = resolveRunConfig(config, "config");
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
function lockRunFolder(dir: string, resume: boolean, commandLine: readonly string[] | undefined): RunLock {
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

/** The run itself, with its folder locked. */
async function trainLocked(prepared: PreparedRun, options: TrainOptions): Promise<RunResult> {
  const { config, stored, knnWanted } = prepared;
  const dir = options.out;
  const resume = stored !== null;
  const device = options.device ?? "cpu";
  const command = options.commandLine ? [...options.commandLine] : null;

  const useTty = options.log === undefined && process.stdout.isTTY === true;
  const reporter = new ProgressReporter({
    logFile: join(dir, RUN_FILES.log),
    log: options.log === undefined ? defaultLog : options.log,
    tty: useTty ? process.stdout : null,
  });
  if (config.train.threads !== null) setNumThreads(config.train.threads);
  const threadsLine = threadsWarning(config.train.threads);
  if (threadsLine !== null) reporter.line(threadsLine);
  const previousPrecision = matmulPrecision();
  const precision = trainingPrecision(config.train.precision, (line) => reporter.line(line));
  setMatmulPrecision(precision);

  const owned: { dispose(): void }[] = [];
  try {
    // ---- data ---------------------------------------------------------------------------------
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
    const [height, width, channels] = imageShape(trainSet);
    const memory = prepared.memoryAfterLoading
      ? checkTrainingMemory(memoryInput(config, loadedSizes(trainSet, evalSet, knnWanted)), { force: options.force ?? false })
      : prepared.memory;

    // ---- palette ------------------------------------------------------------------------------
    const palettePath = join(dir, RUN_FILES.palette);
    const palette = resume && existsSync(palettePath)
      ? PaletteQuantizer.load(palettePath)
      : PaletteQuantizer.fit(trainSet.images, { k: config.palette.k ?? defaultPaletteSize(channels === 1 ? 1 : 3), seed: config.train.seed, samplePixels: config.palette.samplePixels });
    owned.push(palette);

    // ---- model, optimizer, loader -------------------------------------------------------------
    manualSeed(config.train.seed);
    const model = new GCRLModel({ ...config.model, height, width, vocabSize: palette.k });
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
    const mode = config.objective.mode;
    const loader = new PairLoader(trainSet, palette, pairAugment(config.augment.weak, config.augment.strong), {
      batchSize: config.train.batchSize,
      seed: config.train.seed,
      strong: mode !== "igpt",
      perturb: config.data.perturb > 0 ? { mu: config.data.perturb, k: palette.k } : null,
    });
    const knnSet = evalSet !== null && trainSet.labels !== null ? limitSet(trainSet, Math.min(knnWanted, setSize(trainSet))) : null;
    if (knnSet !== null) owned.push({ dispose: () => disposeSet(knnSet) });
    const evaluator = evalSet !== null ? new Evaluator(model, palette, evalSet, knnSet, { mode, batchSize: config.train.batchSize, device }) : null;
    if (evaluator !== null) owned.push(evaluator);

    // ---- the run folder -----------------------------------------------------------------------
    const configPath = join(dir, RUN_FILES.config);
    const metricsPath = join(dir, RUN_FILES.metrics);
    const runFile: RunConfigFile = stored !== null
      ? { ...stored, config, resumes: [...(stored.resumes ?? []), { at: new Date().toISOString(), step: 0, command }] }
      : {
          format: RUN_FORMAT, version: RUN_VERSION, gcrl: gcrlVersion(), command, created: new Date().toISOString(), config,
          model: { ...model.config },
          data: {
            train: { source: trainSet.source, images: setSize(trainSet) },
            eval: { source: evalSet?.source ?? "none", images: evalSet === null ? 0 : setSize(evalSet) },
            imageShape: [height, width, channels], paletteK: palette.k,
          },
          evaluation: { knn: { k: KNN_DEFAULTS.k, temperature: KNN_DEFAULTS.temperature, trainImages: knnSet === null ? 0 : setSize(knnSet) } },
          device, resumes: [],
        };
    if (stored !== null && configDifferences(stored.model, model.config).length > 0) {
      throw new RunFolderError(`resuming ${dir}: the model built from its config (${model.describe()}) differs from the one recorded in ${RUN_FILES.config}: ${configDifferences(stored.model, model.config).join(", ")}`);
    }

    let state: Omit<TrainState, "optimizer" | "format" | "version" | "savedAt"> = {
      step: 0, position: { epoch: 0, batch: 0 }, elapsedSeconds: 0, scheduleSteps: null, pending: emptySums(),
      last: null, lastEval: null, best: { testNll: null, knnAccuracy: null },
    };
    let checkpointStep: number | null = null;
    if (resume) {
      removeStaleTemporaries(dir);
      if (hasCheckpoint(dir)) {
        const c = loadCheckpoint(dir);
        try {
          model.loadStateDict(c.model);
          optimizer.loadStateDict(c.optimizer);
          if (c.rng !== null) setRngState(c.rng);
          const { optimizer: _json, format: _f, version: _v, savedAt: _s, ...rest } = c.state;
          state = rest;
          checkpointStep = state.step;
        } finally {
          disposeCheckpoint(c);
        }
      }
      truncateMetrics(metricsPath, state.step);
      runFile.resumes[runFile.resumes.length - 1]!.step = state.step;
    }
    if (!existsSync(palettePath)) palette.save(palettePath); // a resumed run may have stopped before writing it
    writeFileAtomic(configPath, formatJson(runFile));

    const plan = planBudget(config.budget, loader.batchesPerEpoch);
    // A changed budget on resume re-plans the rest of the schedule.
    if (plan.scheduleSteps !== null) state.scheduleSteps = plan.scheduleSteps;
    else if (resume && state.scheduleSteps !== null && stored !== null && JSON.stringify(stored.config.budget) !== JSON.stringify(config.budget) && state.step > 0) {
      state.scheduleSteps = estimateScheduleSteps(state.step, state.step / Math.max(state.elapsedSeconds, 1e-9), plan.secondsLimit! - state.elapsedSeconds, config.optim.warmupSteps);
    }

    const describeBudget = [
      config.budget.steps !== null ? `${config.budget.steps} steps` : null,
      config.budget.epochs !== null ? `${config.budget.epochs} epochs (${loader.batchesPerEpoch} steps each)` : null,
      config.budget.minutes !== null ? `${config.budget.minutes} minutes` : null,
    ].filter((s) => s !== null).join(" or ");
    reporter.line(resume ? `gcrl train: resuming ${dir} at step ${state.step}${checkpointStep === null ? " (no checkpoint yet: from the start)" : ""}` : `gcrl train: ${dir}`);
    reporter.line(`data: ${trainSet.source}: ${setSize(trainSet)} images ${height}×${width}×${channels}; eval: ${evalSet === null ? "none" : `${setSize(evalSet)} images of ${evalSet.source}`}; palette K=${palette.k}${palette.fitInfo ? ` (MSE ${palette.fitInfo.meanSquaredError.toFixed(2)})` : ""}`);
    reporter.line(`model: ${model.describe()}`);
    if (memory !== null) reporter.line(describeMemoryCheck(memory));
    reporter.line(
      `objective: ${mode} (alpha ${config.objective.alpha}, beta ${config.objective.beta}, tau ${config.objective.tau}); batch ${config.train.batchSize}; ` +
        `AdamW lr ${config.optim.lr} (warm-up ${config.optim.warmupSteps}, cosine to ${config.optim.minLr}), weight decay ${config.optim.weightDecay}, clip ${config.optim.gradClip || "off"}; ` +
        `budget ${describeBudget}; ${getNumThreads()} threads, ${device}, ${precision === "bf16" ? "bf16 mixed precision" : "fp32"}`,
    );

    // ---- the loop -----------------------------------------------------------------------------
    const params = model.parameters();
    const objective = config.objective;
    const batchSize = config.train.batchSize;
    const { logEvery, evalEvery, checkpointEvery } = config.train;
    const sessionStart = performance.now();
    const elapsedAtStart = state.elapsedSeconds;
    const elapsed = (): number => elapsedAtStart + (performance.now() - sessionStart) / 1000;
    const epochOf = (p: LoaderPosition): number => p.epoch + p.batch / loader.batchesPerEpoch;
    const scheduleFor = (total: number) => warmupCosine({ baseLr: config.optim.lr, minLr: config.optim.minLr, warmupSteps: config.optim.warmupSteps, totalSteps: Math.max(total, config.optim.warmupSteps) });
    let lrAt = scheduleFor(state.scheduleSteps ?? Math.max(config.optim.warmupSteps, 1));
    if (state.scheduleSteps !== null) lrAt = scheduleFor(state.scheduleSteps);
    // Minutes-only budgets: time steps [calibration.step, calibrateAt), then fix the schedule's length.
    const calibrateAt = state.scheduleSteps === null ? state.step + calibrationSteps(config.optim.warmupSteps) : -1;
    const sessionFirstStep = state.step;
    let calibration = { step: state.step, time: performance.now() };
    let intervalStart = performance.now();
    let intervalSteps = 0;
    let pausedSeconds = 0; // evaluations and checkpoints within the current interval
    let recentRate = 0; // steps per second, last interval
    let lastLoggedStep = state.step;
    let status: RunStatus = "completed";
    const totalSteps = (): number | null => plan.stepLimit ?? state.scheduleSteps;

    const evaluate = (): void => {
      if (evaluator === null) return;
      const t0 = performance.now();
      const r = evaluator.run();
      const e: EvalMetrics = { step: state.step, epoch: epochOf(state.position), ...r };
      state.lastEval = e;
      if (e.testNll !== null && (state.best.testNll === null || e.testNll < state.best.testNll.value)) state.best.testNll = { value: e.testNll, step: e.step };
      if (e.knnAccuracy !== null && (state.best.knnAccuracy === null || e.knnAccuracy > state.best.knnAccuracy.value)) state.best.knnAccuracy = { value: e.knnAccuracy, step: e.step };
      const seconds = (performance.now() - t0) / 1000;
      appendMetrics(metricsPath, {
        kind: "eval", step: e.step, epoch: round(e.epoch), testNll: e.testNll, testBitsPerDim: e.testBitsPerDim, knnAccuracy: e.knnAccuracy,
        knnK: KNN_DEFAULTS.k, knnTemperature: KNN_DEFAULTS.temperature, evalImages: evaluator.evalTokens.size(0),
        knnTrainImages: evaluator.trainTokens?.size(0) ?? 0, seconds: round(seconds), elapsed: round(elapsed()),
      });
      reporter.line(formatEvalLine(e, seconds));
      pausedSeconds += seconds;
    };
    const checkpoint = (): void => {
      const t0 = performance.now();
      state.elapsedSeconds = elapsed();
      saveCheckpoint(dir, model, optimizer, state);
      checkpointStep = state.step;
      pausedSeconds += (performance.now() - t0) / 1000;
    };
    const logMetrics = (): void => {
      const s = state.pending;
      if (s.count === 0) return;
      const seconds = Math.max((performance.now() - intervalStart) / 1000 - pausedSeconds, 1e-9);
      recentRate = intervalSteps > 0 ? intervalSteps / seconds : recentRate;
      const imagesPerSecond = intervalSteps > 0 ? (intervalSteps * batchSize) / seconds : 0;
      const generative = mode === "simclr" ? null : s.generative / s.count;
      const m: TrainMetrics = {
        step: state.step, epoch: epochOf(state.position), lr: lrAt(state.step - 1), loss: s.loss / s.count,
        generative, generativeBitsPerDim: generative === null ? null : natsToBitsPerDim(generative),
        contrastive: mode === "igpt" ? null : s.contrastive / s.count,
        contrastiveAccuracy: mode === "igpt" ? null : s.contrastiveAccuracy / s.count,
        gradNorm: config.optim.gradClip > 0 ? s.gradNorm / s.count : null,
      };
      state.last = m;
      state.pending = emptySums();
      const record: MetricsRecord = {
        kind: "train", step: m.step, epoch: round(m.epoch), lr: m.lr, loss: m.loss, generative: m.generative, generativeBitsPerDim: m.generativeBitsPerDim,
        contrastive: m.contrastive, contrastiveAccuracy: m.contrastiveAccuracy, gradNorm: m.gradNorm,
        imagesPerSecond: round(imagesPerSecond), elapsed: round(elapsed()),
      };
      appendMetrics(metricsPath, record);
      reporter.periodic(formatTrainLine(m, { totalSteps: totalSteps(), imagesPerSecond, etaSeconds: eta() }));
      lastLoggedStep = state.step;
      intervalStart = performance.now();
      intervalSteps = 0;
      pausedSeconds = 0;
    };
    const eta = (): number | null => {
      const candidates: number[] = [];
      if (plan.secondsLimit !== null) candidates.push(plan.secondsLimit - elapsed());
      const total = totalSteps();
      if (total !== null && recentRate > 0) candidates.push((total - state.step) / recentRate);
      return candidates.length > 0 ? Math.max(0, Math.min(...candidates)) : null;
    };

    for (;;) {
      if (plan.stepLimit !== null && state.step >= plan.stepLimit) break;
      if (plan.secondsLimit !== null && elapsed() >= plan.secondsLimit) break;
      if (options.signal?.aborted) {
        status = "interrupted";
        break;
      }
      const stepIndex = state.step; // 0-based index of this step
      const lr = lrAt(stepIndex);
      optimizer.setLr(lr);
      const position = state.position;
      const outcome = tidy(() => {
        const b = loader.batch(position.epoch, position.batch);
        const weak = device === "cpu" ? b.weak : b.weak.toDevice(device);
        const strong = b.strong === null ? null : device === "cpu" ? b.strong : b.strong.toDevice(device);
        optimizer.zeroGrad();
        const r = hybridLoss(objective, model, weak, strong);
        const terms: [string, Tensor | null][] = [["loss", r.loss], ["generative loss", r.generative], ["contrastive loss", r.contrastive], ["contrastive accuracy", r.contrastiveAccuracy]];
        const present = terms.filter((t): t is [string, Tensor] => t[1] !== null);
        const values = stack(present.map(([, t]) => t.detach().float())).toArray(); // one device sync
        const v = new Map(present.map(([name], i) => [name, values[i]!]));
        // Name the component that failed first (a NaN generative loss makes the total NaN too).
        const order = ["generative loss", "contrastive loss", "loss"];
        const bad = order.find((name) => v.has(name) && !Number.isFinite(v.get(name)!));
        if (bad !== undefined) return { v, bad, value: v.get(bad)!, gradNorm: NaN };
        r.loss.backward();
        const gradNorm = config.optim.gradClip > 0 ? clipGradNorm(params, config.optim.gradClip) : 0;
        if (!Number.isFinite(gradNorm)) return { v, bad: "gradient norm", value: gradNorm, gradNorm };
        optimizer.step();
        return { v, bad: null, value: 0, gradNorm };
      });
      if (outcome.bad !== null) {
        const err = new NonFiniteLossError(stepIndex + 1, outcome.bad, outcome.value, checkpointStep, dir);
        reporter.finish();
        reporter.record(`error: ${err.message}`); // the caller reports the error itself
        reporter.record(`values at step ${stepIndex + 1}: ${[...outcome.v].map(([name, x]) => `${name} ${x}`).join(", ")}${outcome.bad === "gradient norm" ? `, gradient norm ${outcome.value}` : ""}`);
        throw err;
      }
      optimizer.zeroGrad(); // free the gradients between steps
      state.step++;
      state.position = loader.next(position);
      intervalSteps++;
      const p = state.pending;
      p.count++;
      p.loss += outcome.v.get("loss")!;
      p.generative += outcome.v.get("generative loss") ?? 0;
      p.contrastive += outcome.v.get("contrastive loss") ?? 0;
      p.contrastiveAccuracy += outcome.v.get("contrastive accuracy") ?? 0;
      p.gradNorm += outcome.gradNorm;

      if (state.step === calibrateAt) {
        const timed = state.step - calibration.step;
        const rate = timed / Math.max((performance.now() - calibration.time) / 1000, 1e-9);
        state.scheduleSteps = estimateScheduleSteps(state.step, rate, plan.secondsLimit! - elapsed(), config.optim.warmupSteps);
        lrAt = scheduleFor(state.scheduleSteps);
        reporter.line(`schedule: ${state.scheduleSteps} steps estimated for the ${config.budget.minutes}-minute budget (${rate.toFixed(2)} steps/s over ${timed} steps)`);
      } else if (state.step === sessionFirstStep + 1 && calibrateAt > state.step) {
        calibration = { step: state.step, time: performance.now() }; // leave the (slower) first step out of the timing
      }
      const finalStep = plan.stepLimit !== null && state.step >= plan.stepLimit;
      if (state.step % logEvery === 0 || finalStep) logMetrics();
      if (evalEvery > 0 && state.step % evalEvery === 0) evaluate();
      if (state.step % checkpointEvery === 0) checkpoint();
      options.onProgress?.({
        step: state.step, totalSteps: totalSteps(), epoch: epochOf(state.position), lr,
        loss: outcome.v.get("loss")!, generative: outcome.v.get("generative loss") ?? null, contrastive: outcome.v.get("contrastive loss") ?? null,
        contrastiveAccuracy: outcome.v.get("contrastive accuracy") ?? null, elapsedSeconds: elapsed(),
      });
      if (useTty) {
        const s = (performance.now() - intervalStart) / 1000 - pausedSeconds;
        const rate = intervalSteps > 0 && s > 0 ? intervalSteps / s : recentRate;
        reporter.status(formatTrainLine(
          { step: state.step, epoch: epochOf(state.position), lr, loss: outcome.v.get("loss")!, generative: outcome.v.get("generative loss") ?? null,
            generativeBitsPerDim: outcome.v.has("generative loss") ? natsToBitsPerDim(outcome.v.get("generative loss")!) : null,
            contrastive: outcome.v.get("contrastive loss") ?? null, contrastiveAccuracy: outcome.v.get("contrastive accuracy") ?? null, gradNorm: null },
          { totalSteps: totalSteps(), imagesPerSecond: rate * batchSize, etaSeconds: eta() },
        ));
      }
      await new Promise<void>((r) => setImmediate(r)); // let signals, timers and output through
    }

    // ---- the end ------------------------------------------------------------------------------
    if (status === "completed") {
      if (lastLoggedStep !== state.step) logMetrics();
      if (state.lastEval?.step !== state.step) evaluate();
    }
    if (checkpointStep !== state.step || !hasCheckpoint(dir)) checkpoint();
    reporter.finish();
    const summary = [
      `step ${state.step}`,
      state.last ? `loss ${state.last.loss.toFixed(4)}` : null,
      state.lastEval?.testBitsPerDim != null ? `test ${state.lastEval.testBitsPerDim.toFixed(3)} bits/dim` : null,
      state.lastEval?.knnAccuracy != null ? `kNN ${(100 * state.lastEval.knnAccuracy).toFixed(2)}%` : null,
      `${formatDuration(elapsed())} of training`,
    ].filter((s) => s !== null).join(", ");
    if (status === "interrupted") reporter.line(`interrupted at step ${state.step} (${summary}); checkpoint saved; resume with gcrl train --resume ${dir}`);
    else reporter.line(`done: ${summary}; run folder ${dir}`);
    return {
      dir: resolve(dir), status, step: state.step, scheduleSteps: state.scheduleSteps, epoch: epochOf(state.position), elapsedSeconds: elapsed(),
      parameters: model.parameterCount(), last: state.last, lastEval: state.lastEval, best: state.best,
    };
  } finally {
    setMatmulPrecision(previousPrecision);
    reporter.finish();
    for (const o of owned.reverse()) o.dispose();
  }
}

/** The memory guard's data sizes of loaded sets (image folders, whose sizes the registry does not know). */
function loadedSizes(trainSet: ImageSet, evalSet: ImageSet | null, knnWanted: number): DataSizes {
  const [height, width, channels] = imageShape(trainSet);
  const evalImages = evalSet === null ? 0 : setSize(evalSet);
  const knnImages = evalImages > 0 && trainSet.labels !== null ? Math.min(knnWanted, setSize(trainSet)) : 0;
  return { height, width, channels: channels === 1 ? 1 : 3, trainImages: setSize(trainSet), evalImages, knnImages };
}

/**
 * The matmul precision a run trains in: the config's, except that "bf16" on a CPU without native
 * bf16 falls back to "fp32" with a warning (libtorch would emulate it, many times slower).
 * GCRL_FORCE_BF16=1 keeps emulated bf16 (for tests of the bf16 path on such machines).
 */
export function trainingPrecision(wanted: MatmulPrecision, warn: (line: string) => void): MatmulPrecision {
  if (wanted !== "bf16" || bf16Supported() || process.env.GCRL_FORCE_BF16 === "1") return wanted;
  warn("warning: train.precision \"bf16\" needs a CPU with native bfloat16 (avx512_bf16 or amx_bf16 in /proc/cpuinfo); this one has neither, so training runs in fp32");
  return "fp32";
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
