// The study's comparison: study.json (every number), study.md and study.html (one document). One
// table: rows = runs (gcrl / igpt / simclr, then sweep rows), columns = linear probe, kNN, test
// bits/dim, FID and the OOD AUROC of every score; n/a where a number cannot exist (SimCLR has no
// decoder) with the reason below the table. The best value of each column is bold — whichever run it
// is — so the table says plainly where GCRL does not win. Then side-by-side samples, completions and
// OOD histograms (images from the runs' eval/ folders), the literature's reference points (labelled
// as such), and the configuration and wall-clock time of every run.
import { join } from "node:path";
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { formatJson } from "../util/format-json.ts";
import { writeReport, type Block, type Cell } from "../report/document.ts";
import type { EvalReport } from "../eval/eval-report.ts";
import { FASHION_MNIST_VS_MNIST_REFERENCES } from "../report/eval-all.ts";
import { OOD_SCORE_INFO, isNotApplicable, type OodScoreName } from "../eval/run-evaluation.ts";
import { BACKGROUND_RUN_ID, describeBudget, type StudyRunPlan } from "./study-plan.ts";
import type { StudyState } from "./study-state.ts";

export const STUDY_FORMAT = "gcrl.study";
export const STUDY_VERSION = 1;

/** One row of the table: a number, or null with the reason in `na`. */
export interface StudyRow {
  id: string;
  mode: string;
  alpha: number;
  beta: number;
  tau: number;
  steps: number | null;
  trainSeconds: number | null;
  evalSeconds: number | null;
  probe: number | null;
  knn: number | null;
  bitsPerDim: number | null;
  fid: number | null;
  /** FID of real training vs test images at the same count: the floor at this sample size. */
  fidFloor: number | null;
  auroc: Record<OodScoreName, number | null>;
  /** Why a null cell is null, by column. */
  na: Record<string, string>;
}

export interface StudyReport {
  format: typeof STUDY_FORMAT;
  version: typeof STUDY_VERSION;
  createdAt: string;
  data: string;
  ood: string | null;
  budget: string;
  machine: string;
  commands: string[][];
  rows: StudyRow[];
  references: { what: string; value: string; source: string }[];
}

export const OOD_SCORES = Object.keys(OOD_SCORE_INFO) as OodScoreName[];

/** Literature points for this data pair, shown as references (never as our measurements). */
export function literatureReferences(data: string, ood: string | null): StudyReport["references"] {
  if (data !== "fashion-mnist") return [];
  const refs = [{ what: "linear probe on raw pixels (logistic regression)", value: "84.2%", source: "Xiao et al. 2017, Fashion-MNIST benchmark" }];
  if (ood === "mnist-digits" || ood === "mnist") refs.push(...FASHION_MNIST_VS_MNIST_REFERENCES.map((r) => ({ what: `OOD AUROC vs MNIST: ${r.method}`, value: r.auroc, source: r.source })));
  return refs;
}

export function studyRow(plan: StudyRunPlan, state: StudyState["runs"][string], e: EvalReport): StudyRow {
  const na: Record<string, string> = {};
  const pick = <T,>(column: string, v: T | { na: string }, f: (x: T) => number): number | null => {
    if (isNotApplicable(v)) {
      na[column] = v.na;
      return null;
    }
    return f(v);
  };
  const fidNet = isNotApplicable(e.fid) ? e.fid : (e.fid.find((f) => f.network === "fid-net") ?? { na: "no fid-net result" });
  const auroc = Object.fromEntries(OOD_SCORES.map((s) => [s, null])) as Record<OodScoreName, number | null>;
  if (isNotApplicable(e.ood)) for (const s of OOD_SCORES) na[`auroc:${s}`] = e.ood.na;
  else for (const s of e.ood.scores) auroc[s.name] = pick(`auroc:${s.name}`, s.metrics, (m) => m.auroc);
  return {
    id: plan.id,
    mode: plan.mode,
    alpha: plan.config.objective.alpha,
    beta: plan.config.objective.beta,
    tau: plan.config.objective.tau,
    steps: state.steps,
    trainSeconds: state.trainSeconds,
    evalSeconds: state.evalSeconds,
    probe: pick("probe", e.probe, (p) => p.testAccuracy),
    knn: pick("knn", e.knn, (k) => k.accuracy),
    bitsPerDim: pick("bitsPerDim", e.likelihood, (l) => l.testBitsPerDim),
    fid: pick("fid", fidNet, (f) => f.fid),
    fidFloor: isNotApplicable(fidNet) ? null : fidNet.fidTrainVsTest,
    auroc,
    na,
  };
}

function machine(): string {
  const c = cpus();
  const flags = cpuFlags();
  return `${c.length} × ${c[0]?.model.trim() ?? "unknown CPU"}${flags.length > 0 ? ` (${flags.join(", ")})` : ""}, Node ${process.version}, ${process.platform}`;
}

/** The vector/matrix flags of /proc/cpuinfo that decide this machine's speed (avx2, avx512f, avx512_bf16, amx_bf16); [] elsewhere. */
export function cpuFlags(): string[] {
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return [];
  }
  const line = info.split("\n").find((l) => l.startsWith("flags")) ?? "";
  const present = new Set(line.split(":")[1]?.trim().split(/\s+/) ?? []);
  return ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16"].filter((f) => present.has(f));
}

function minutes(seconds: number | null): string {
  return seconds === null ? "n/a" : `${(seconds / 60).toFixed(1)} min`;
}

/** Table cells with the best finite value of each column in bold (max or min). */
function tableWithBest(rows: StudyRow[], columns: { header: string; value: (r: StudyRow) => number | null; format: (x: number) => string; better: "max" | "min" }[]): { header: string[]; rows: Cell[][] } {
  const best = columns.map((c) => {
    const vs = rows.map(c.value).filter((v): v is number => v !== null && Number.isFinite(v));
    return vs.length < 2 ? null : c.better === "max" ? Math.max(...vs) : Math.min(...vs);
  });
  return {
    header: ["run", ...columns.map((c) => c.header)],
    rows: rows.map((r) => [
      r.id,
      ...columns.map((c, j) => {
        const v = c.value(r);
        if (v === null) return null;
        const text = c.format(v);
        return best[j] !== null && v === best[j] ? `**${text}**` : text;
      }),
    ]),
  };
}

/**
 * The study's distinct command lines in the order first run, each with how many times it ran (the
 * same command again continues an interrupted study). study.json keeps every invocation
 * (report.commands); only the rendering folds repeats.
 */
export function distinctCommands(commands: readonly (readonly string[])[]): { line: string; times: number }[] {
  const counts = new Map<string, number>();
  for (const c of commands) {
    const line = c.join(" ");
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].map(([line, times]) => ({ line, times }));
}

/** " (run 3 times: the same command continues a study)" for a repeated command, "" otherwise. */
export function repeatNote(times: number): string {
  return times === 1 ? "" : ` (run ${times} times: the same command continues a study)`;
}

export function studyDocumentBlocks(report: StudyReport, plans: StudyRunPlan[], state: StudyState): Block[] {
  const rows = report.rows;
  const blocks: Block[] = [];
  blocks.push({
    kind: "paragraph",
    text: `Data **${report.data}**, OOD **${report.ood ?? "none"}**; the same architecture, data, seed and budget (${report.budget}) for every run. Machine: ${report.machine}. Written ${report.createdAt}.`,
  });
  blocks.push({ kind: "code", text: distinctCommands(report.commands).map((c) => (c.times === 1 ? c.line : `${c.line}   #${repeatNote(c.times)}`)).join("\n") || "(library call)" });
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const columns = [
    { header: "linear probe", value: (r: StudyRow) => r.probe, format: pct, better: "max" as const },
    { header: "kNN", value: (r: StudyRow) => r.knn, format: pct, better: "max" as const },
    { header: "test bits/dim", value: (r: StudyRow) => r.bitsPerDim, format: (x: number) => x.toFixed(4), better: "min" as const },
    { header: "FID", value: (r: StudyRow) => r.fid, format: (x: number) => x.toFixed(2), better: "min" as const },
    ...OOD_SCORES.map((s) => ({ header: `AUROC ${s}`, value: (r: StudyRow) => r.auroc[s], format: (x: number) => x.toFixed(3), better: "max" as const })),
  ];
  const table = tableWithBest(rows, columns);
  blocks.push({ kind: "heading", level: 2, text: "Results" });
  blocks.push({
    kind: "table",
    ...table,
    align: ["left", ...columns.map(() => "right" as const)],
    caption: "Best of each column in bold. Probe and kNN: test accuracy on r(x). Bits/dim: palette space. FID: samples vs test images in the in-distribution CNN's features (lower is better). AUROC: OOD = positive, higher score = more OOD.",
  });
  const reasons = new Map<string, string[]>();
  const headerOf = (col: string): string => (col.startsWith("auroc:") ? `AUROC ${col.slice(6)}` : ({ probe: "linear probe", knn: "kNN", bitsPerDim: "test bits/dim", fid: "FID" } as Record<string, string>)[col] ?? col);
  for (const r of rows) for (const [col, why] of Object.entries(r.na)) reasons.set(why, [...(reasons.get(why) ?? []), `${r.id} ${headerOf(col)}`]);
  if (reasons.size > 0) blocks.push({ kind: "list", items: [...reasons].map(([why, where]) => `n/a — ${why}: ${where.join(", ")}`) });
  const floor = rows.find((r) => r.fidFloor !== null)?.fidFloor;
  if (floor !== undefined && floor !== null) blocks.push({ kind: "paragraph", text: `FID floor at this sample size (real training vs test images): ${floor.toFixed(2)}.` });
  blocks.push({ kind: "list", items: OOD_SCORES.map((s) => `**${s}** (${OOD_SCORE_INFO[s].supervised ? "supervised" : "unsupervised"}): ${OOD_SCORE_INFO[s].description}`) });

  if (report.references.length > 0) {
    blocks.push({ kind: "heading", level: 2, text: "Reference points from the literature (not measured here)" });
    blocks.push({ kind: "table", header: ["what", "value", "source"], rows: report.references.map((r) => [r.what, r.value, r.source]) });
  }

  const withImage = (kind: "samples" | "completions"): { path: string; alt: string; caption: string }[] =>
    rows.filter((r) => r.na.bitsPerDim === undefined).map((r) => ({ path: `runs/${r.id}/eval/${kind}.png`, alt: `${kind} of ${r.id}`, caption: r.id }));
  const samples = withImage("samples");
  if (samples.length > 0) {
    blocks.push({ kind: "heading", level: 2, text: "Samples" });
    blocks.push({ kind: "images", items: samples });
    blocks.push({ kind: "heading", level: 2, text: "Completions" });
    blocks.push({ kind: "paragraph", text: "Each line: a test image (quantized) | its top rows | completions." });
    blocks.push({ kind: "images", items: withImage("completions") });
  }
  blocks.push({ kind: "heading", level: 2, text: "OOD score histograms" });
  for (const score of ["nll", "mahalanobis", "knn-distance"] as const) {
    const items = rows.filter((r) => r.auroc[score] !== null).map((r) => ({ path: `runs/${r.id}/eval/ood-hist-${score}.png`, alt: `${score} histogram of ${r.id}`, caption: `${r.id}: ${score}` }));
    if (items.length > 0) blocks.push({ kind: "images", items });
  }
  const rocs = rows.map((r) => ({ path: `runs/${r.id}/eval/roc-unsupervised.png`, alt: `ROC of ${r.id}`, caption: r.id }));
  blocks.push({ kind: "images", items: rocs });

  blocks.push({ kind: "heading", level: 2, text: "Runs" });
  blocks.push({
    kind: "table",
    header: ["run", "mode", "α", "β", "τ", "steps", "training", "evaluation", "report"],
    align: ["left", "left", "right", "right", "right", "right", "right", "right", "left"],
    rows: rows.map((r) => [r.id, r.mode, r.alpha, r.beta, r.tau, r.steps, minutes(r.trainSeconds), minutes(r.evalSeconds), `[report](runs/${r.id}/report.md)`]),
  });
  blocks.push({ kind: "paragraph", text: `Base configuration (${state.settings.configSource}); each run changes only objective.mode (and α, β, τ in sweeps). Evaluation settings: ${JSON.stringify(state.settings.eval)}.` });
  const background = state.runs[BACKGROUND_RUN_ID];
  if (state.settings.background !== undefined && background !== undefined) {
    blocks.push({
      kind: "paragraph",
      text: `Background model of the likelihood-ratio score: \`runs/${BACKGROUND_RUN_ID}\`, the same configuration in igpt mode trained on perturbed images (data.perturb ${state.settings.background}: each pixel a random palette colour with that probability; Ren et al. 2019), ${background.steps ?? "?"} steps in ${minutes(background.trainSeconds)}. It is not a row of the table.`,
    });
  }
  blocks.push({ kind: "code", text: JSON.stringify(plans[0]?.config ?? state.settings.config, null, 2) });
  return blocks;
}

export function writeStudyReport(out: string, state: StudyState, plans: StudyRunPlan[], evals: Map<string, EvalReport>): StudyReport {
  const rows = plans.map((p) => studyRow(p, state.runs[p.id]!, evals.get(p.id)!));
  const config = state.settings.config;
  const ood = state.settings.eval.ood ?? [...evals.values()][0]?.settings.ood ?? null;
  const report: StudyReport = {
    format: STUDY_FORMAT,
    version: STUDY_VERSION,
    createdAt: new Date().toISOString(),
    data: config.data.name,
    ood,
    budget: describeBudget(config.budget),
    machine: machine(),
    commands: state.commands,
    rows,
    references: literatureReferences(config.data.name, ood),
  };
  writeFileAtomic(join(out, "study.json"), formatJson(report));
  writeReport(out, "study", { title: `gcrl study: GCRL vs iGPT vs SimCLR on ${report.data}`, blocks: studyDocumentBlocks(report, plans, state) });
  return report;
}
