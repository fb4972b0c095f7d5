// The step loop of a built run: one tidy per step (batch, loss, backward, clip, step) under the
// warm-up + cosine schedule; NaN/Inf stops the run without saving; metrics every train.logEvery
// steps, evaluation every train.evalEvery steps and at the end, a checkpoint every
// train.checkpointEvery steps, at the end and on abort; a minutes budget fixes the schedule's
// length after timing its first steps.
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Tensor, clipGradNorm, stack, tidy, warmupCosine } from "../torch/index.ts";
import type { LoaderPosition } from "../data/loader.ts";
import { KNN_DEFAULTS } from "../metrics/knn.ts";
import { hybridLoss, natsToBitsPerDim } from "./objectives.ts";
import type { RunConfig } from "./run-config.ts";
import { calibrationSteps, estimateScheduleSteps, type BudgetPlan } from "./budget.ts";
import { formatDuration, formatEvalLine, formatTrainLine, type ProgressReporter } from "./progress.ts";
import { hasCheckpoint, saveCheckpoint, type EvalMetrics, type TrainMetrics } from "./checkpoint.ts";
import { RUN_FILES, appendMetrics, type MetricsRecord } from "./run-folder.ts";
import { emptySums, type BuiltRun, type RunState } from "./run-setup.ts";
import { NonFiniteLossError, type RunResult, type RunStatus, type TrainOptions } from "./train-types.ts";
import type { DataParallel } from "./data-parallel.ts";

/** What the loop runs on: the built run, its state (mutated step by step) and where it reports. */
export interface LoopInput {
  dir: string;
  config: RunConfig;
  device: string;
  run: BuiltRun;
  state: RunState;
  /** Step of the checkpoint in the run folder (null: none yet). */
  checkpointStep: number | null;
  plan: BudgetPlan;
  reporter: ProgressReporter;
  /** Redraw a status line after every step (stdout is a terminal). */
  useTty: boolean;
  options: Pick<TrainOptions, "signal" | "onProgress">;
  /** Data-parallel training (data-parallel.ts): this rank's group; only the leader writes and prints. */
  dp?: DataParallel | null;
}

/** One step's measured values by name ("loss", "generative loss", …), or the first non-finite one. */
interface StepOutcome {
  v: Map<string, number>;
  /** The quantity that was NaN/Inf (null: the step was taken). */
  bad: string | null;
  value: number;
  gradNorm: number;
}

/** Runs the loop until the budget is spent or an abort, then the end: final metrics, evaluation, checkpoint, summary. */
export async function runSteps(input: LoopInput): Promise<RunResult> {
  const loop = new StepLoop(input);
  await loop.run();
  return loop.finish();
}

class StepLoop {
  readonly #in: LoopInput;
  readonly #state: RunState;
  readonly #metricsPath: string;
  /** The model's parameters, for gradient clipping. */
  readonly #params: Tensor[];
  readonly #sessionStart = performance.now();
  readonly #elapsedAtStart: number;
  /** Minutes-only budgets: time steps [calibration.step, calibrateAt), then fix the schedule's length (-1: no calibration). */
  readonly #calibrateAt: number;
  readonly #sessionFirstStep: number;
  #calibration: { step: number; time: number };
  #lrAt: (step: number) => number;
  #checkpointStep: number | null;
  #intervalStart = performance.now();
  #intervalSteps = 0;
  #pausedSeconds = 0; // evaluations and checkpoints within the current interval
  #recentRate = 0; // steps per second, last interval
  #lastLoggedStep: number;
  #status: RunStatus = "completed";
  readonly #dp: DataParallel | null;
  /** Writes the run folder (one process, or data-parallel rank 0). */
  readonly #leader: boolean;

  constructor(input: LoopInput) {
    this.#in = input;
    this.#dp = input.dp ?? null;
    this.#leader = this.#dp === null || this.#dp.isLeader;
    const { state, config } = input;
    this.#state = state;
    this.#metricsPath = join(input.dir, RUN_FILES.metrics);
    this.#params = input.run.model.parameters();
    this.#elapsedAtStart = state.elapsedSeconds;
    this.#checkpointStep = input.checkpointStep;
    this.#lrAt = this.#scheduleFor(state.scheduleSteps ?? Math.max(config.optim.warmupSteps, 1));
    this.#calibrateAt = state.scheduleSteps === null ? state.step + calibrationSteps(config.optim.warmupSteps) : -1;
    this.#sessionFirstStep = state.step;
    this.#calibration = { step: state.step, time: performance.now() };
    this.#lastLoggedStep = state.step;
  }

  async run(): Promise<void> {
    const { plan, options } = this.#in;
    const state = this.#state;
    for (;;) {
      if (plan.stepLimit !== null && state.step >= plan.stepLimit) break;
      let timeUp = plan.secondsLimit !== null && this.#elapsed() >= plan.secondsLimit;
      let aborted = options.signal?.aborted === true;
      if (this.#dp !== null) ({ timeUp, aborted } = this.#agree(timeUp, aborted));
      if (timeUp) break;
      if (aborted) {
        this.#status = "interrupted";
        break;
      }
      const lr = this.#lrAt(state.step);
      this.#in.run.optimizer.setLr(lr);
      const outcome = this.#step();
      this.#count(outcome);
      this.#calibrate();
      this.#periodic();
      this.#report(outcome, lr);
      await new Promise<void>((r) => setImmediate(r)); // let signals, timers and output through
    }
  }

  /** Data-parallel: every rank stops at the same step, and follows rank 0's schedule length (a minutes budget's estimate). */
  #agree(timeUp: boolean, aborted: boolean): { timeUp: boolean; aborted: boolean } {
    const state = this.#state;
    const c = this.#dp!.agree(aborted, timeUp, state.scheduleSteps);
    if (!this.#leader && c.scheduleSteps !== null && c.scheduleSteps !== state.scheduleSteps) {
      state.scheduleSteps = c.scheduleSteps;
      this.#lrAt = this.#scheduleFor(c.scheduleSteps);
    }
    return c;
  }

  /** One optimizer step at state.position; the state is not advanced. A non-finite value throws NonFiniteLossError. */
  #step(): StepOutcome {
    const { config, device, run, dir, reporter } = this.#in;
    const { model, optimizer, loader } = run;
    const params = this.#params;
    const stepIndex = this.#state.step; // 0-based index of this step
    const position = this.#state.position;
    const outcome = tidy((): StepOutcome => {
      const b = loader.batch(position.epoch, position.batch);
      const weak = device === "cpu" ? b.weak : b.weak.toDevice(device);
      const strong = b.strong === null ? null : device === "cpu" ? b.strong : b.strong.toDevice(device);
      optimizer.zeroGrad();
      const dp = this.#dp;
      const r = hybridLoss(config.objective, model, weak, strong, dp?.global ?? null);
      const terms: [string, Tensor | null][] = [["loss", r.loss], ["generative loss", r.generative], ["contrastive loss", r.contrastive], ["contrastive accuracy", r.contrastiveAccuracy]];
      const present = terms.filter((t): t is [string, Tensor] => t[1] !== null);
      const local = stack(present.map(([, t]) => t.detach().float())).toArray(); // one device sync
      // Data-parallel: the ranks' means (equal shards: the global batch's values; NT-Xent's are equal on every rank).
      const values = dp === null ? local : dp.averageValues(Array.from(local));
      const v = new Map(present.map(([name], i) => [name, values[i]!]));
      // Name the component that failed first (a NaN generative loss makes the total NaN too).
      const order = ["generative loss", "contrastive loss", "loss"];
      const bad = order.find((name) => v.has(name) && !Number.isFinite(v.get(name)!));
      if (bad !== undefined) return { v, bad, value: v.get(bad)!, gradNorm: NaN };
      r.gradientLoss.backward();
      dp?.averageGradients(params);
      const gradNorm = config.optim.gradClip > 0 ? clipGradNorm(params, config.optim.gradClip) : 0;
      if (!Number.isFinite(gradNorm)) return { v, bad: "gradient norm", value: gradNorm, gradNorm };
      optimizer.step();
      return { v, bad: null, value: 0, gradNorm };
    });
    if (outcome.bad !== null) {
      const err = new NonFiniteLossError(stepIndex + 1, outcome.bad, outcome.value, this.#checkpointStep, dir);
      reporter.finish();
      reporter.record(`error: ${err.message}`); // the caller reports the error itself
      reporter.record(`values at step ${stepIndex + 1}: ${[...outcome.v].map(([name, x]) => `${name} ${x}`).join(", ")}${outcome.bad === "gradient norm" ? `, gradient norm ${outcome.value}` : ""}`);
      throw err;
    }
    optimizer.zeroGrad(); // free the gradients between steps
    return outcome;
  }

  /** Advances the state past a taken step and adds its values to the pending sums. */
  #count(outcome: StepOutcome): void {
    const state = this.#state;
    state.step++;
    state.position = this.#in.run.loader.next(state.position);
    this.#intervalSteps++;
    const p = state.pending;
    p.count++;
    p.loss += outcome.v.get("loss")!;
    p.generative += outcome.v.get("generative loss") ?? 0;
    p.contrastive += outcome.v.get("contrastive loss") ?? 0;
    p.contrastiveAccuracy += outcome.v.get("contrastive accuracy") ?? 0;
    p.gradNorm += outcome.gradNorm;
  }

  /** Minutes-only budgets: at calibrateAt, the schedule's length from the measured rate (the session's first step left out). */
  #calibrate(): void {
    if (!this.#leader) return; // a data-parallel rank takes rank 0's estimate (#agree)
    const { config, plan, reporter } = this.#in;
    const state = this.#state;
    if (state.step === this.#calibrateAt) {
      const timed = state.step - this.#calibration.step;
      const rate = timed / Math.max((performance.now() - this.#calibration.time) / 1000, 1e-9);
      state.scheduleSteps = estimateScheduleSteps(state.step, rate, plan.secondsLimit! - this.#elapsed(), config.optim.warmupSteps);
      this.#lrAt = this.#scheduleFor(state.scheduleSteps);
      reporter.line(`schedule: ${state.scheduleSteps} steps estimated for the ${config.budget.minutes}-minute budget (${rate.toFixed(2)} steps/s over ${timed} steps)`);
    } else if (state.step === this.#sessionFirstStep + 1 && this.#calibrateAt > state.step) {
      this.#calibration = { step: state.step, time: performance.now() }; // leave the (slower) first step out of the timing
    }
  }

  /** Metrics, evaluation and checkpoint when their intervals (or the step limit) come round. */
  #periodic(): void {
    const { config, plan } = this.#in;
    const { logEvery, evalEvery, checkpointEvery } = config.train;
    const step = this.#state.step;
    const finalStep = plan.stepLimit !== null && step >= plan.stepLimit;
    if (step % logEvery === 0 || finalStep) this.#logMetrics();
    const evaluate = evalEvery > 0 && step % evalEvery === 0;
    const checkpoint = step % checkpointEvery === 0;
    if (evaluate) this.#evaluate();
    if (checkpoint) this.#checkpoint();
    if ((evaluate || checkpoint) && this.#dp !== null) this.#dp.leaderDone(); // the others wait for rank 0's work
  }

  /** options.onProgress, and the redrawn status line on a terminal. */
  #report(outcome: StepOutcome, lr: number): void {
    const { options, useTty, reporter, config } = this.#in;
    const state = this.#state;
    const v = outcome.v;
    options.onProgress?.({
      step: state.step, totalSteps: this.#totalSteps(), epoch: this.#epochOf(state.position), lr,
      loss: v.get("loss")!, generative: v.get("generative loss") ?? null, contrastive: v.get("contrastive loss") ?? null,
      contrastiveAccuracy: v.get("contrastive accuracy") ?? null, elapsedSeconds: this.#elapsed(),
    });
    if (!useTty) return;
    const s = (performance.now() - this.#intervalStart) / 1000 - this.#pausedSeconds;
    const rate = this.#intervalSteps > 0 && s > 0 ? this.#intervalSteps / s : this.#recentRate;
    reporter.status(formatTrainLine(
      { step: state.step, epoch: this.#epochOf(state.position), lr, loss: v.get("loss")!, generative: v.get("generative loss") ?? null,
        generativeBitsPerDim: v.has("generative loss") ? natsToBitsPerDim(v.get("generative loss")!) : null,
        contrastive: v.get("contrastive loss") ?? null, contrastiveAccuracy: v.get("contrastive accuracy") ?? null, gradNorm: null },
      { totalSteps: this.#totalSteps(), imagesPerSecond: rate * config.train.batchSize, etaSeconds: this.#eta() },
    ));
  }

  /** The evaluator's test NLL and kNN accuracy now: recorded as lastEval and best, in metrics.jsonl and the log. */
  #evaluate(): void {
    const { run: { evaluator }, reporter } = this.#in;
    const state = this.#state;
    if (evaluator === null || !this.#leader) return;
    const t0 = performance.now();
    const r = evaluator.run();
    const e: EvalMetrics = { step: state.step, epoch: this.#epochOf(state.position), ...r };
    state.lastEval = e;
    if (e.testNll !== null && (state.best.testNll === null || e.testNll < state.best.testNll.value)) state.best.testNll = { value: e.testNll, step: e.step };
    if (e.knnAccuracy !== null && (state.best.knnAccuracy === null || e.knnAccuracy > state.best.knnAccuracy.value)) state.best.knnAccuracy = { value: e.knnAccuracy, step: e.step };
    const seconds = (performance.now() - t0) / 1000;
    appendMetrics(this.#metricsPath, {
      kind: "eval", step: e.step, epoch: round(e.epoch), testNll: e.testNll, testBitsPerDim: e.testBitsPerDim, knnAccuracy: e.knnAccuracy,
      knnK: KNN_DEFAULTS.k, knnTemperature: KNN_DEFAULTS.temperature, evalImages: evaluator.evalTokens.size(0),
      knnTrainImages: evaluator.trainTokens?.size(0) ?? 0, seconds: round(seconds), elapsed: round(this.#elapsed()),
    });
    reporter.line(formatEvalLine(e, seconds));
    this.#pausedSeconds += seconds;
  }

  #checkpoint(): void {
    if (!this.#leader) return;
    const { dir, run } = this.#in;
    const t0 = performance.now();
    this.#state.elapsedSeconds = this.#elapsed();
    saveCheckpoint(dir, run.model, run.optimizer, this.#state);
    this.#checkpointStep = this.#state.step;
    this.#pausedSeconds += (performance.now() - t0) / 1000;
  }

  /** The pending sums' means as the last training metrics (metrics.jsonl and a log line); starts a new interval. */
  #logMetrics(): void {
    const { config, reporter } = this.#in;
    const state = this.#state;
    const s = state.pending;
    if (s.count === 0 || !this.#leader) return;
    const mode = config.objective.mode;
    const seconds = Math.max((performance.now() - this.#intervalStart) / 1000 - this.#pausedSeconds, 1e-9);
    this.#recentRate = this.#intervalSteps > 0 ? this.#intervalSteps / seconds : this.#recentRate;
    const imagesPerSecond = this.#intervalSteps > 0 ? (this.#intervalSteps * config.train.batchSize) / seconds : 0;
    const generative = mode === "simclr" ? null : s.generative / s.count;
    const m: TrainMetrics = {
      step: state.step, epoch: this.#epochOf(state.position), lr: this.#lrAt(state.step - 1), loss: s.loss / s.count,
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
      imagesPerSecond: round(imagesPerSecond), elapsed: round(this.#elapsed()),
    };
    appendMetrics(this.#metricsPath, record);
    reporter.periodic(formatTrainLine(m, { totalSteps: this.#totalSteps(), imagesPerSecond, etaSeconds: this.#eta() }));
    this.#lastLoggedStep = state.step;
    this.#intervalStart = performance.now();
    this.#intervalSteps = 0;
    this.#pausedSeconds = 0;
  }

  /** The end: a completed run logs and evaluates its last step; every run checkpoints it and prints the summary. */
  finish(): RunResult {
    const { dir, reporter, run } = this.#in;
    const state = this.#state;
    const status = this.#status;
    if (status === "completed") {
      if (this.#lastLoggedStep !== state.step) this.#logMetrics();
      if (state.lastEval?.step !== state.step) this.#evaluate();
    }
    if (this.#leader && (this.#checkpointStep !== state.step || !hasCheckpoint(dir))) this.#checkpoint();
    this.#dp?.leaderDone(); // every rank ends with the run folder complete
    reporter.finish();
    const summary = [
      `step ${state.step}`,
      state.last ? `loss ${state.last.loss.toFixed(4)}` : null,
      state.lastEval?.testBitsPerDim != null ? `test ${state.lastEval.testBitsPerDim.toFixed(3)} bits/dim` : null,
      state.lastEval?.knnAccuracy != null ? `kNN ${(100 * state.lastEval.knnAccuracy).toFixed(2)}%` : null,
      `${formatDuration(this.#elapsed())} of training`,
    ].filter((s) => s !== null).join(", ");
    const nproc = this.#dp === null ? "" : ` --nproc ${this.#dp.worldSize}`;
    if (status === "interrupted") reporter.line(`interrupted at step ${state.step} (${summary}); checkpoint saved; resume with gcrl train --resume ${dir}${nproc}`);
    else reporter.line(`done: ${summary}; run folder ${dir}`);
    return {
      dir: resolve(dir), status, step: state.step, scheduleSteps: state.scheduleSteps, epoch: this.#epochOf(state.position), elapsedSeconds: this.#elapsed(),
      parameters: run.model.parameterCount(), last: state.last, lastEval: state.lastEval, best: state.best,
    };
  }

  /** Training seconds over every session of the run. */
  #elapsed(): number {
    return this.#elapsedAtStart + (performance.now() - this.#sessionStart) / 1000;
  }

  /** Fractional epoch of a loader position. */
  #epochOf(p: LoaderPosition): number {
    return p.epoch + p.batch / this.#in.run.loader.batchesPerEpoch;
  }

  #scheduleFor(total: number): (step: number) => number {
    const o = this.#in.config.optim;
    return warmupCosine({ baseLr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, totalSteps: Math.max(total, o.warmupSteps) });
  }

  #totalSteps(): number | null {
    return this.#in.plan.stepLimit ?? this.#state.scheduleSteps;
  }

  /** Seconds left: the sooner of the minutes budget and the remaining steps at the recent rate (null: unknown). */
  #eta(): number | null {
    const candidates: number[] = [];
    if (this.#in.plan.secondsLimit !== null) candidates.push(this.#in.plan.secondsLimit - this.#elapsed());
    const total = this.#totalSteps();
    if (total !== null && this.#recentRate > 0) candidates.push((total - this.#state.step) / this.#recentRate);
    return candidates.length > 0 ? Math.max(0, Math.min(...candidates)) : null;
  }
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
