// The plan of a study: which runs it trains and evaluates. The paper's comparison is one network
// trained three ways — GCRL (α·L_g + β·L_c), iGPT (L_g only) and SimCLR (L_c only) — with the same
// architecture, data, seed and budget. Optional sweeps over α, β and τ add GCRL rows (the paper's
// ablation); the baselines run once.
import type { RunConfig, BudgetSection } from "../train/run-config.ts";
import { resolveRunConfig, RunConfigError } from "../train/run-config-validate.ts";
import { OBJECTIVE_MODES, type ObjectiveMode } from "../train/objective-config.ts";
import type { EvalSettings } from "../eval/eval-settings.ts";

export const STUDY_MODES: readonly ObjectiveMode[] = OBJECTIVE_MODES;

export interface StudySweep {
  alpha: number[] | null;
  beta: number[] | null;
  tau: number[] | null;
}

export interface StudySettings {
  /** The base run config (a config file's overrides resolved), data and budget already set. */
  config: RunConfig;
  /** Where the base config came from (a file path, or "defaults"). */
  configSource: string;
  /** The modes compared, in table order. */
  modes: ObjectiveMode[];
  sweep: StudySweep;
  /** Settings of every run's `eval all` (the OOD dataset among them). */
  eval: Partial<EvalSettings>;
  /**
   * μ of a background run for the likelihood-ratio OOD score: an igpt run of the same config with
   * data.perturb μ, trained first and used as every other run's `--background`. Absent: none.
   */
  background?: number;
}

export interface StudyRunPlan {
  /** Folder name under <study>/runs/ and the table's row label: gcrl, igpt, simclr, gcrl-a0.5-b1-t0.1. */
  id: string;
  mode: ObjectiveMode;
  config: RunConfig;
  /** "background": the likelihood-ratio score's background model (trained, not evaluated, no table row). */
  role?: "background";
}

/** The folder name of a study's background run under <study>/runs/. */
export const BACKGROUND_RUN_ID = "background";

/**
 * Eval settings a study uses unless told otherwise: the first 10,000 training images for the probe,
 * kNN and OOD fits, the whole test split, 500 samples for FID. A full `gcrl eval all` encodes all
 * 60,000 training images, which costs more than a short training run on 2 cores.
 */
export const STUDY_EVAL_DEFAULTS: Readonly<Partial<EvalSettings>> = Object.freeze({
  trainImages: 10_000,
  fidSamples: 500,
  kidSubsets: 50,
  kidSubsetSize: 500,
});

/** "30m", "1.5h", "90s", "45" (minutes) → minutes: train/budget.ts's, shared with `gcrl train --minutes`. */
export { parseDuration } from "../train/budget.ts";

export function describeBudget(b: BudgetSection): string {
  const parts: string[] = [];
  if (b.minutes !== null) parts.push(`${Number(b.minutes.toFixed(2))} min`);
  if (b.steps !== null) parts.push(`${b.steps} steps`);
  if (b.epochs !== null) parts.push(`${b.epochs} epochs`);
  const kind = b.minutes !== null ? "equal wall-clock" : "equal steps";
  return `${parts.join(" or ")} per run${parts.length > 1 ? " (the first limit reached)" : ""} (${kind})`;
}

function label(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** The runs of a study, in table order: the modes (GCRL first), then one GCRL row per sweep combination. */
export function planStudy(settings: StudySettings): StudyRunPlan[] {
  const base = settings.config;
  const withObjective = (mode: ObjectiveMode, patch: Partial<RunConfig["objective"]> = {}): RunConfig => {
    const c = structuredClone(base);
    c.objective = { ...c.objective, ...patch, mode };
    return c;
  };
  const { alpha, beta, tau } = settings.sweep;
  const swept = alpha !== null || beta !== null || tau !== null;
  const plans: StudyRunPlan[] = [];
  if (settings.background !== undefined) {
    const config = withObjective("igpt");
    config.data = { ...config.data, perturb: settings.background };
    plans.push({ id: BACKGROUND_RUN_ID, mode: "igpt", config, role: "background" });
  }
  const seen = new Set<string>(plans.map((p) => p.id));
  const add = (p: StudyRunPlan): void => {
    if (seen.has(p.id)) return;
    seen.add(p.id);
    plans.push(p);
  };
  for (const mode of settings.modes) {
    if (mode === "gcrl" && swept) {
      for (const a of alpha ?? [base.objective.alpha]) {
        for (const b of beta ?? [base.objective.beta]) {
          for (const t of tau ?? [base.objective.tau]) {
            add({ id: `gcrl-a${label(a)}-b${label(b)}-t${label(t)}`, mode, config: withObjective("gcrl", { alpha: a, beta: b, tau: t }) });
          }
        }
      }
    } else {
      add({ id: mode, mode, config: withObjective(mode) });
    }
  }
  return plans;
}

/**
 * The problems of the runs a plan would train, checked as the trainer checks a config, so that a
 * study with a run that cannot train (α = 0 in a GCRL row, τ = 0, …) stops before the first run
 * instead of after hours of the others. One line per problem: `run gcrl-a0-b1-t0.1: objective.alpha: …`.
 * [] when every run's config is valid.
 */
export function studyPlanProblems(plans: readonly StudyRunPlan[]): string[] {
  const problems: string[] = [];
  for (const plan of plans) {
    try {
      resolveRunConfig(plan.config, `run ${plan.id}`);
    } catch (err) {
      if (!(err instanceof RunConfigError)) throw err;
      problems.push(...err.problems.map((p) => `run ${plan.id}: ${p}`));
    }
  }
  return problems;
}

/**
 * `settings` (as stored in a study's study-state.json) with its base config resolved again, so that
 * config keys added since the study started read as their defaults — the values its runs trained
 * with (objective.generativeReduction "pixel") — and a restart is not refused over them. Settings
 * whose config no longer resolves come back as they are (the comparison then names what differs).
 */
export function withCurrentConfigKeys(settings: StudySettings): StudySettings {
  try {
    return { ...settings, config: resolveRunConfig(settings.config, "study-state.json") };
  } catch (err) {
    if (err instanceof RunConfigError) return settings;
    throw err;
  }
}
