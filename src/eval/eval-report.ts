// eval.json, the record `gcrl eval all` writes into a run folder (format "gcrl.eval", version 2):
// every number and the settings that produced it, stages that cannot apply recorded as { na: reason }.
// This file holds its shape and its reading; running the stages and composing report.md and the
// figures from it is report/eval-all.ts (report sits above eval in the layers).
import { readFileSync } from "node:fs";
import type { OodMetrics } from "./ood-metrics.ts";
import type { EvalSettings } from "./eval-settings.ts";
import type {
  FidResult,
  KnnResult,
  LikelihoodResult,
  NotApplicable,
  OodScoreName,
  OodScores,
  ProbeResult,
  DataIdentity,
} from "./run-evaluation.ts";

export const EVAL_FORMAT = "gcrl.eval";
/** 2: eval.json names every image set's source and content fingerprint (`data`, ood.inFingerprint/outFingerprint). */
export const EVAL_VERSION = 2;

/** eval.json's OOD section: OodScores without the raw per-image scores (sources, fingerprints and counts as there). */
export type OodSummary = Omit<OodScores, "results" | "raw"> & {
  scores: { name: OodScoreName; description: string; supervised: boolean; metrics: OodMetrics | NotApplicable }[];
};

export interface EvalReport {
  format: typeof EVAL_FORMAT;
  version: typeof EVAL_VERSION;
  createdAt: string;
  run: { dir: string; mode: string; step: number; dataset: string; model: string; parameters: number };
  settings: EvalSettings;
  /** Every image set the evaluation read: "train", "test", "ood" → source (folder included), content fingerprint, images. */
  data: Record<string, DataIdentity>;
  probe: ProbeResult | NotApplicable;
  knn: KnnResult | NotApplicable;
  likelihood: LikelihoodResult | NotApplicable;
  samples: { count: number; samplesPerSecond: number | null; temperature: number; topK: number; image: string } | NotApplicable;
  completions: { images: number; givenRows: number; samplesPerImage: number; image: string } | NotApplicable;
  fid: FidResult[] | NotApplicable;
  ood: OodSummary | NotApplicable;
  /** Figures written, relative to the run folder. */
  figures: string[];
  /** Wall-clock seconds per stage. */
  seconds: Record<string, number>;
}

/** True when path holds an eval.json of this version (an older one is re-evaluated, not read). */
export function isCurrentEvalReport(path: string): boolean {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<EvalReport>;
    return parsed.format === EVAL_FORMAT && parsed.version === EVAL_VERSION;
  } catch {
    return false;
  }
}

/** Reads an eval.json back (for `gcrl study`), checking its format. */
export function readEvalReport(path: string): EvalReport {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<EvalReport>;
  if (parsed.format !== EVAL_FORMAT || parsed.version !== EVAL_VERSION) {
    throw new Error(`${path}: not a gcrl eval.json (format ${String(parsed.format)}, version ${String(parsed.version)}; expected ${EVAL_FORMAT} ${EVAL_VERSION})`);
  }
  return parsed as EvalReport;
}
