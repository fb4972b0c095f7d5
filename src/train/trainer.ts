// The trainer: `train(config, { out })` runs one GCRL / iGPT / SimCLR training run into a run
// folder, and `train(config, { out, resume: true })` continues it exactly (docs/training.md).
//
//   checks    before anything is written: train.threads against the cores (threads.ts), the
//             memory guard (memory-guard.ts; options.force skips it), then the run folder's lock
//             (run-lock.ts), held until the run ends                          (run-setup.ts)
//   data      train split (data.limit, data.classes); eval = the first data.evalImages of the test split
//   palette   k-means on the training images (seed train.seed)
//   model     GCRLModel (H, W from the data, K from the palette), manualSeed(train.seed) first
//   optimizer AdamW, weight decay on decayParameters() only                 (run-setup.ts)
//   folder    config.json (run-config-file.ts), palette.json, the checkpoint a resume continues
//             from, metrics.jsonl cut back to it                            (run-setup.ts)
//   parallel  with options.distributed (data-parallel.ts): rank 0 alone locks and writes the run
//             folder and prints; every rank builds the same model (rank 0's parameters broadcast),
//             trains on its shard of each global batch and averages the gradients
//   loop      warmupCosine over the step budget, gradient clipping by total norm; one tidy per
//             step (batch, loss, backward, clip, step); NaN/Inf stops the run without saving;
//             metrics every train.logEvery steps; evaluation every train.evalEvery steps and at
//             the end; checkpoint every train.checkpointEvery steps, at the end and on abort
//                                                                           (step-loop.ts)
// This file puts them in order and holds the session's settings (threads, log). The matmul precision
// is the model's own (runCompute in compute.ts, given to buildRun), not a process-wide setting.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setNumThreads, getNumThreads, withCpuCache, type MatmulPrecision } from "../torch/index.ts";
import { setSize } from "../data/image-set.ts";
import type { RunConfig } from "./run-config.ts";
import { ProgressReporter } from "./progress.ts";
import { RUN_FILES } from "./run-folder.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";
import { threadsWarning } from "./threads.ts";
import { describeMemoryCheck } from "./memory-guard.ts";
import type { BudgetPlan } from "./budget.ts";
import { runConfigFileFor } from "./run-config-file.ts";
import { buildRun, freshState, lockRunFolder, planSchedule, prepareRun, restoreRun, type BuiltRun, type Owned, type PreparedRun, type RunState } from "./run-setup.ts";
import { runSteps } from "./step-loop.ts";
import type { RunResult, TrainOptions } from "./train-types.ts";
import { runCompute } from "./compute.ts";
import { DataParallel } from "./data-parallel.ts";
import { loadRunState } from "./run-setup.ts";

export { RUN_FORMAT, RUN_VERSION, readRunConfigFile, configDifferences, type RunConfigFile } from "./run-config-file.ts";
export { trainingPrecision, runCompute } from "./compute.ts";
export { NonFiniteLossError, type TrainProgress, type TrainOptions, type RunStatus, type RunResult } from "./train-types.ts";

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
  // instead of faulting in fresh pages every step (native/kernels/allocator.cc; reference model on 2
  // idle cores: 9.5 → 7.4 s per step). OpenBLAS keeps its own threads: on one thread
  // (setBlasThreads(1)) a step takes 1.7× less CPU time but ~1.3× more wall-clock time.
  return withCpuCache(() => trainRun(config, options));
}

async function trainRun(config: RunConfig, options: TrainOptions): Promise<RunResult> {
  const prepared = prepareRun(config, options);
  const dp = options.distributed != null && options.distributed.worldSize > 1 ? new DataParallel(options.distributed) : null;
  if (dp !== null && !dp.isLeader) return trainLocked(prepared, options, dp); // rank 0 holds the lock
  const lock = lockRunFolder(options.out, prepared.stored !== null, options.commandLine);
  try {
    return await trainLocked(prepared, options, dp);
  } finally {
    lock.release();
  }
}

/** The run itself, with its folder locked: the session's settings, the build, the run folder, the loop. */
async function trainLocked(prepared: PreparedRun, options: TrainOptions, dp: DataParallel | null): Promise<RunResult> {
  const { config } = prepared;
  const dir = options.out;
  const device = options.device ?? "cpu";
  const leader = dp === null || dp.isLeader;
  const useTty = leader && options.log === undefined && process.stdout.isTTY === true;
  const reporter = new ProgressReporter({
    logFile: leader ? join(dir, RUN_FILES.log) : null,
    log: !leader ? null : options.log === undefined ? defaultLog : options.log,
    tty: useTty ? process.stdout : null,
  });
  const threads = options.processThreads ?? config.train.threads;
  if (threads !== null) setNumThreads(threads);
  const threadsLine = threadsWarning(config.train.threads);
  if (threadsLine !== null) reporter.line(threadsLine);
  const compute = runCompute(config, (line) => reporter.line(line), options.device ?? "cpu");
  const precision = compute.precision;

  const owned: Owned = [];
  try {
    const run = await buildRun(prepared, options, owned, compute, dp);
    const { state, checkpointStep } = leader ? writeRunFolder(prepared, run, options) : loadRunState(dir, run);
    // Every rank starts from rank 0's parameters (the same seed gives the same ones; a resume reads the same checkpoint).
    dp?.broadcastParameters(run.model.parameters());
    const plan = planSchedule(prepared, state, run.loader.batchesPerEpoch);
    describeRun(reporter, { prepared, run, state, checkpointStep, plan, dir, device, precision });
    if (dp !== null) reporter.line(`data-parallel: ${dp.worldSize} processes (gloo), global batch ${config.train.batchSize} = ${dp.worldSize} × ${config.train.batchSize / dp.worldSize}; rank 0 writes the run folder`);
    return await runSteps({ dir, config, device, run, state, checkpointStep, plan, reporter, useTty, options, dp });
  } finally {
    reporter.finish();
    for (const o of owned.reverse()) o.dispose();
  }
}

/**
 * The run folder before the first step: on resume the checkpoint's state (restoreRun), then
 * palette.json (unless written) and config.json. Returns the state the loop starts from.
 */
function writeRunFolder(prepared: PreparedRun, run: BuiltRun, options: TrainOptions): { state: RunState; checkpointStep: number | null } {
  const dir = options.out;
  const runFile = runConfigFileFor(dir, {
    config: prepared.config, stored: prepared.stored, command: options.commandLine ? [...options.commandLine] : null, device: options.device ?? "cpu",
    model: run.model, palette: run.palette, trainSet: run.trainSet, evalSet: run.evalSet, knnSet: run.knnSet, shape: run.shape,
  });
  const restored = prepared.stored !== null ? restoreRun(dir, run, runFile) : { state: freshState(), checkpointStep: null };
  const palettePath = join(dir, RUN_FILES.palette);
  if (!existsSync(palettePath)) run.palette.save(palettePath); // a resumed run may have stopped before writing it
  writeFileAtomic(join(dir, RUN_FILES.config), formatJson(runFile));
  return restored;
}

/** The run's opening lines: the folder (and resume step), data and palette, model, memory, objective, optimizer and budget. */
function describeRun(
  reporter: ProgressReporter,
  r: { prepared: PreparedRun; run: BuiltRun; state: RunState; checkpointStep: number | null; plan: BudgetPlan; dir: string; device: string; precision: MatmulPrecision },
): void {
  const { config, stored } = r.prepared;
  const { trainSet, evalSet, palette, model, memory, loader } = r.run;
  const [height, width, channels] = r.run.shape;
  const describeBudget = [
    config.budget.steps !== null ? `${config.budget.steps} steps` : null,
    config.budget.epochs !== null ? `${config.budget.epochs} epochs (${loader.batchesPerEpoch} steps each)` : null,
    config.budget.minutes !== null ? `${config.budget.minutes} minutes` : null,
  ].filter((s) => s !== null).join(" or ");
  reporter.line(stored !== null ? `gcrl train: resuming ${r.dir} at step ${r.state.step}${r.checkpointStep === null ? " (no checkpoint yet: from the start)" : ""}` : `gcrl train: ${r.dir}`);
  reporter.line(`data: ${trainSet.source}: ${setSize(trainSet)} images ${height}×${width}×${channels}; eval: ${evalSet === null ? "none" : `${setSize(evalSet)} images of ${evalSet.source}`}; palette K=${palette.k}${palette.fitInfo ? ` (MSE ${palette.fitInfo.meanSquaredError.toFixed(2)})` : ""}`);
  reporter.line(`model: ${model.describe()}`);
  if (memory !== null) reporter.line(describeMemoryCheck(memory));
  reporter.line(
    `objective: ${config.objective.mode} (alpha ${config.objective.alpha}, beta ${config.objective.beta}, tau ${config.objective.tau}); batch ${config.train.batchSize}; ` +
      `AdamW lr ${config.optim.lr} (warm-up ${config.optim.warmupSteps}, cosine to ${config.optim.minLr}), weight decay ${config.optim.weightDecay}, clip ${config.optim.gradClip || "off"}; ` +
      `budget ${describeBudget}; ${getNumThreads()} threads, ${r.device}, ${r.precision === "bf16" ? "bf16 mixed precision" : "fp32"}`,
  );
}
