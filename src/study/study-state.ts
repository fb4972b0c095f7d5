// The study's progress file (<out>/study-state.json): which runs are trained and evaluated, with
// their times, and the settings and command lines of every session. The runner writes it after
// every step; the report reads it. Its own file so that neither imports the other.
import type { StudySettings } from "./study-plan.ts";

export const STUDY_STATE_FORMAT = "gcrl.study-state";
export const STUDY_STATE_VERSION = 1;

export interface RunState {
  trained: boolean;
  /** Training time of the run over all its sessions (seconds), and its steps. */
  trainSeconds: number | null;
  steps: number | null;
  evaluated: boolean;
  evalSeconds: number | null;
}

export interface StudyState {
  format: typeof STUDY_STATE_FORMAT;
  version: typeof STUDY_STATE_VERSION;
  startedAt: string;
  /** The command lines that ran this study, one per session. */
  commands: string[][];
  settings: StudySettings;
  runs: Record<string, RunState>;
}
