// runStudy: trains and evaluates every run of a study's plan into <out>/runs/<id>, then writes the
// comparison (study.json, study.md, study.html). Restartable: <out>/study-state.json records which
// runs finished training and evaluation; a restarted study skips those, resumes a run interrupted
// mid-training from its checkpoint (its wall-clock budget counts every session), and evaluates what
// is left. A restart with different settings is refused rather than mixing two studies.
import { InputError } from "../util/input-error.ts";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { train, type RunResult } from "../train/trainer.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";
import { RunEvaluation } from "../eval/run-evaluation.ts";
import { isCurrentEvalReport, readEvalReport, type EvalReport } from "../eval/eval-report.ts";
import { evaluateAll } from "../report/eval-all.ts";
import { BACKGROUND_RUN_ID, planStudy, studyPlanProblems, withCurrentConfigKeys, type StudyRunPlan, type StudySettings } from "./study-plan.ts";
import { writeStudyReport, type StudyReport } from "./study-report.ts";
import { STUDY_STATE_FORMAT, STUDY_STATE_VERSION, type StudyState } from "./study-state.ts";

/** A study that cannot start or continue (bad settings, a folder holding another study): one line, exit 2. */
export class StudyError extends InputError {
  override name = "StudyError";
}

export interface StudyOptions {
  out: string;
  /**
   * Where every run trains and is evaluated: "cpu" (default), "cuda", "cuda:N" (`gcrl study`
   * checks it first: checkDevice). Not one of the study's settings: an interrupted study may
   * continue on another device.
   */
  device?: string;
  log?: (line: string) => void;
  /** Aborting finishes the training step in flight, saves its checkpoint and stops the study (status "interrupted"). */
  signal?: AbortSignal;
  commandLine?: readonly string[];
}

export interface StudyResult {
  status: "completed" | "interrupted";
  out: string;
  report: StudyReport | null;
}

const STATE_FILE = "study-state.json";

function readState(out: string): StudyState | null {
  const path = join(out, STATE_FILE);
  if (!existsSync(path)) return null;
  let parsed: Partial<StudyState>;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<StudyState>;
  } catch (err) {
    throw new StudyError(`${path}: not valid JSON (${(err as Error).message}); remove it to start the study over`);
  }
  if (parsed.format !== STUDY_STATE_FORMAT || parsed.version !== STUDY_STATE_VERSION || typeof parsed.runs !== "object" || parsed.settings === undefined) {
    throw new StudyError(`${path}: not a gcrl study state (format ${String(parsed.format)}, version ${String(parsed.version)})`);
  }
  return parsed as StudyState;
}

/** Dotted paths where two JSON values differ (for a clear refusal message). */
function differences(a: unknown, b: unknown, path = ""): string[] {
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [path || "(root)"];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
}

export async function runStudy(settings: StudySettings, options: StudyOptions): Promise<StudyResult> {
  const out = options.out;
  const log = options.log ?? ((line: string) => console.error(line));
  const plans = planStudy(settings);
  if (plans.length === 0) throw new StudyError("the study has no runs (no modes given)");
  const problems = studyPlanProblems(plans); // before anything is written or trained
  if (problems.length > 0) throw new StudyError(problems.join("\n"));
  mkdirSync(join(out, "runs"), { recursive: true });
  const comparable = JSON.parse(JSON.stringify(settings)) as StudySettings;
  let state = readState(out);
  if (state !== null) {
    const changed = differences(withCurrentConfigKeys(state.settings), comparable);
    if (changed.length > 0) {
      throw new StudyError(`${out} holds a study started with other settings (${changed.slice(0, 6).join(", ")}${changed.length > 6 ? ", …" : ""} differ); give another --out, or the same options to continue it`);
    }
    const done = plans.filter((p) => state!.runs[p.id]?.evaluated).length;
    log(`study ${out}: continuing (${done} of ${plans.length} runs done)`);
  } else {
    state = { format: STUDY_STATE_FORMAT, version: STUDY_STATE_VERSION, startedAt: new Date().toISOString(), commands: [], settings: comparable, runs: {} };
  }
  if (options.commandLine) state.commands.push([...options.commandLine]);
  for (const p of plans) state.runs[p.id] ??= { trained: false, trainSeconds: null, steps: null, evaluated: false, evalSeconds: null };
  const save = (): void => writeFileAtomic(join(out, STATE_FILE), formatJson(state));
  save();

  const evals = new Map<string, EvalReport>();
  for (const [i, plan] of plans.entries()) {
    const runState = state.runs[plan.id]!;
    const dir = join(out, "runs", plan.id);
    const tag = `[${i + 1}/${plans.length} ${plan.id}]`;
    if (!runState.trained) {
      const result = await trainRun(plan, dir, tag, log, options);
      runState.trainSeconds = result.elapsedSeconds;
      runState.steps = result.step;
      if (result.status === "interrupted") {
        save();
        log(`${tag} interrupted at step ${result.step}; run the same command again to continue`);
        return { status: "interrupted", out, report: null };
      }
      runState.trained = true;
      runState.evaluated = false;
      save();
    }
    if (plan.role === "background") {
      runState.evaluated = true; // a background model is used by the others' evaluations, not evaluated itself
      save();
      continue;
    }
    // (an eval.json of an older format is evaluated again: it may lack what the report needs)
    if (!runState.evaluated || !existsSync(join(dir, "eval.json")) || !isCurrentEvalReport(join(dir, "eval.json"))) {
      log(`${tag} evaluating (gcrl eval all)`);
      const started = performance.now();
      const background = plans.some((p) => p.role === "background") && plan.mode !== "simclr" ? { background: join(out, "runs", BACKGROUND_RUN_ID) } : {};
      const ev = RunEvaluation.open(dir, { ...settings.eval, ...background }, (line) => log(`${tag}   ${line}`), { device: options.device ?? "cpu" });
      try {
        evals.set(plan.id, await evaluateAll(ev));
      } finally {
        ev.dispose();
      }
      runState.evaluated = true;
      runState.evalSeconds = Math.round((performance.now() - started) / 100) / 10;
      save();
      if (options.signal?.aborted) return { status: "interrupted", out, report: null };
    } else {
      evals.set(plan.id, readEvalReport(join(dir, "eval.json")));
    }
  }
  const report = writeStudyReport(out, state, plans.filter((p) => p.role !== "background"), evals);
  log(`study: ${join(out, "study.md")}, ${join(out, "study.html")}, ${join(out, "study.json")}`);
  return { status: "completed", out, report };
}

async function trainRun(plan: StudyRunPlan, dir: string, tag: string, log: (line: string) => void, options: StudyOptions): Promise<RunResult> {
  const resume = existsSync(join(dir, "checkpoint.json"));
  if (!resume && existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // stopped before its first checkpoint: nothing to keep
  log(`${tag} ${resume ? "resuming" : "training"} (${plan.mode}, α ${plan.config.objective.alpha}, β ${plan.config.objective.beta}, τ ${plan.config.objective.tau})`);
  const { signal, device } = options;
  return train(plan.config, { out: dir, resume, log: (line) => log(`${tag} ${line}`), ...(signal ? { signal } : {}), ...(device !== undefined ? { device } : {}) });
}
