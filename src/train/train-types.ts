// What train() takes and gives back: its options, the progress it reports after each step, the
// result it resolves with, and the error a non-finite loss stops it with.
import type { ProcessGroup } from "../torch/index.ts";
import type { BestMetric, EvalMetrics, TrainMetrics } from "./checkpoint.ts";

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
  /**
   * Data-parallel training (docs/distributed.md, "Data-parallel training"): this process is one rank
   * of a joined group (initProcessGroup; `gcrl train --nproc N` or torchrun's variables). Every rank
   * runs train() with the same config and `out`; train.batchSize is the global batch. Only rank 0
   * writes the run folder and prints; on resume every rank reads the run's checkpoint from `out`.
   */
  distributed?: ProcessGroup | null;
  /**
   * This process's thread count, in place of train.threads (a data-parallel rank's share of its
   * host's threads; config.json keeps train.threads). Default: train.threads.
   */
  processThreads?: number;
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
