// The step budget of a run and the length of its learning-rate schedule.
//
//   steps    stop after N optimizer steps
//   epochs   stop after N · batchesPerEpoch steps (the loader drops the incomplete last batch)
//   minutes  stop once the run's training time (all sessions, evaluations and checkpoints
//            included) reaches N minutes
//
// Several limits may be given; the first one reached stops the run. The cosine schedule runs over
// the step limit when there is one (the smaller of steps and epochs·batchesPerEpoch). A budget of
// minutes alone has no step count, so the schedule's length is ESTIMATED from the speed of the first
// steps: after CALIBRATION_STEPS steps (fewer when the warm-up is shorter — the learning rate of
// warm-up steps does not depend on the schedule's length, nor does that of step 0) the trainer fixes
// scheduleSteps = steps done + remaining seconds × measured steps per second, and keeps it (it is
// saved in the checkpoint). If the run turns out slower, it stops before the decay ends; if faster,
// the last steps run at minLr.
import type { BudgetSection } from "./run-config.ts";

/** Steps timed before a minutes-only budget's schedule length is estimated (at most the warm-up). */
export const CALIBRATION_STEPS = 20;

export interface BudgetPlan {
  /** Stop once this many steps are done (null: no step limit). */
  stepLimit: number | null;
  /** Stop once the training time reaches this many seconds (null: no time limit). */
  secondsLimit: number | null;
  /** The schedule's length when the budget gives it (null: estimate it from the speed). */
  scheduleSteps: number | null;
}

export function planBudget(budget: BudgetSection, batchesPerEpoch: number): BudgetPlan {
  const limits: number[] = [];
  if (budget.steps !== null) limits.push(budget.steps);
  if (budget.epochs !== null) limits.push(Math.max(1, Math.round(budget.epochs * batchesPerEpoch)));
  const stepLimit = limits.length > 0 ? Math.min(...limits) : null;
  const secondsLimit = budget.minutes === null ? null : budget.minutes * 60;
  if (stepLimit === null && secondsLimit === null) throw new RangeError("budget: give at least one of budget.steps, budget.epochs, budget.minutes (--steps, --epochs, --minutes)");
  return { stepLimit, secondsLimit, scheduleSteps: stepLimit };
}

/** Steps to time before estimating the schedule of a minutes-only budget. */
export function calibrationSteps(warmupSteps: number): number {
  return Math.max(1, Math.min(warmupSteps, CALIBRATION_STEPS));
}

/**
 * The schedule length for a minutes budget: steps done + remaining seconds × steps per second,
 * at least warmupSteps and one more than the steps done.
 */
export function estimateScheduleSteps(stepsDone: number, stepsPerSecond: number, secondsLeft: number, warmupSteps: number): number {
  const more = Number.isFinite(stepsPerSecond) && stepsPerSecond > 0 ? Math.floor(Math.max(0, secondsLeft) * stepsPerSecond) : 0;
  return Math.max(warmupSteps, stepsDone + 1, stepsDone + more);
}

/**
 * A time budget as minutes: "30m", "1.5h", "900s", "45min", or a plain number of minutes ("45");
 * null when the text is not a duration > 0. `gcrl train --minutes` and `gcrl study --minutes` read
 * their value with it, so both commands share one budget vocabulary.
 */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$/i.exec(text);
  if (!m) return null;
  const value = Number(m[1]);
  const unit = (m[2] ?? "m").toLowerCase();
  const minutes = unit.startsWith("s") ? value / 60 : unit.startsWith("h") ? value * 60 : value;
  return minutes > 0 ? minutes : null;
}
