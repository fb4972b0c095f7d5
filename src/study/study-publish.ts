// Publishing a finished study into the repository: `results/<name>/` receives the small files that
// make its numbers checkable — study.json (every number), study.md and the PNG figures it shows
// (same relative paths) — and no weights or caches. The README's results block is generated from
// that study.json (studyResultsMarkdown) between two markers naming it:
//
//   <!-- study-results: results/<name>/study.json -->
//   … generated …
//   <!-- /study-results -->
//
// and a test regenerates the block from the committed study.json and compares, so the README can
// only quote numbers that the committed file holds.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OOD_SCORE_INFO } from "../eval/run-evaluation.ts";
import { OOD_SCORES, STUDY_FORMAT, distinctCommands, repeatNote, type StudyReport, type StudyRow } from "./study-report.ts";

/** The OOD scores that use no labels: the "unsupervised" AUROCs the targets are about. */
export const UNSUPERVISED_SCORES = OOD_SCORES.filter((s) => !OOD_SCORE_INFO[s].supervised);

/** The images a markdown file shows (relative paths inside its folder). */
function imagesOf(md: string): string[] {
  return [...md.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((p) => !p.includes(".."));
}

/**
 * Copies study.json, study.md and every image study.md shows from studyDir to resultsDir, and each
 * run's report.md and eval.json (study.md links them) with the images that report shows, and each
 * run's training record (config.json: the resolved config; metrics.jsonl: the curves), the
 * background model's included; returns the copied paths (relative).
 */
export function publishStudy(studyDir: string, resultsDir: string): string[] {
  const md = readFileSync(join(studyDir, "study.md"), "utf8");
  const report = readStudyReport(join(studyDir, "study.json")); // refuse anything that is not a study
  const runFiles = report.rows.flatMap((r) => {
    const dir = `runs/${r.id}`;
    if (!existsSync(join(studyDir, dir, "report.md"))) return [];
    const shown = imagesOf(readFileSync(join(studyDir, dir, "report.md"), "utf8")).map((p) => `${dir}/${p}`);
    return [`${dir}/report.md`, `${dir}/eval.json`, ...shown, ...trainingRecord(studyDir, dir)];
  });
  // The background model of the likelihood ratio is no row, but its scores are in the table.
  const background = trainingRecord(studyDir, "runs/background");
  const files = [...new Set(["study.json", "study.md", ...imagesOf(md), ...runFiles, ...background])];
  for (const f of files) {
    const from = join(studyDir, f);
    if (!existsSync(from)) throw new Error(`${from}: referenced by the study's reports but missing`);
    mkdirSync(dirname(join(resultsDir, f)), { recursive: true });
    copyFileSync(from, join(resultsDir, f));
  }
  return files;
}

/** A run folder's config.json and metrics.jsonl, those that exist (relative to studyDir). */
function trainingRecord(studyDir: string, dir: string): string[] {
  return ["config.json", "metrics.jsonl"].map((f) => `${dir}/${f}`).filter((f) => existsSync(join(studyDir, f)));
}

export function readStudyReport(path: string): StudyReport {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<StudyReport>;
  if (parsed.format !== STUDY_FORMAT || !Array.isArray(parsed.rows)) throw new Error(`${path}: not a gcrl study.json (format ${String(parsed.format)})`);
  return parsed as StudyReport;
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${(100 * x).toFixed(2)}%`);
const fixed = (x: number | null, digits: number): string => (x === null ? "n/a" : x.toFixed(digits));
const minutes = (s: number | null): string => (s === null ? "n/a" : (s / 60).toFixed(1));

/** The best unsupervised OOD AUROC of a row and the score that reaches it. */
export function bestUnsupervisedAuroc(row: StudyRow): { score: string; auroc: number } | null {
  let best: { score: string; auroc: number } | null = null;
  for (const s of UNSUPERVISED_SCORES) {
    const v = row.auroc[s];
    if (v !== null && v !== undefined && (best === null || v > best.auroc)) best = { score: s, auroc: v };
  }
  return best;
}

/** The README's results block for a study: command, machine, budget, and one table row per run. */
export function studyResultsMarkdown(report: StudyReport): string {
  const lines = [
    `Command: ${distinctCommands(report.commands).map((c) => `\`${c.line}\`${repeatNote(c.times)}`).join(" then ") || "(library call)"}`,
    `Machine: ${report.machine}. Budget: ${report.budget}. Data: ${report.data}, OOD: ${report.ood ?? "none"}. Written ${report.createdAt}.`,
    "",
    `| run | steps | training (min) | evaluation (min) | linear probe | kNN | test bits/dim | FID | best unsupervised OOD AUROC | ${OOD_SCORES.map((s) => `AUROC ${s}`).join(" | ")} |`,
    `| :--- | ${["steps", "train", "eval", "probe", "knn", "bpd", "fid", "best", ...OOD_SCORES].map(() => "---:").join(" | ")} |`,
  ];
  for (const r of report.rows) {
    const best = bestUnsupervisedAuroc(r);
    const cells = [
      r.id, r.steps === null ? "n/a" : String(r.steps), minutes(r.trainSeconds), minutes(r.evalSeconds),
      pct(r.probe), pct(r.knn), fixed(r.bitsPerDim, 4), fixed(r.fid, 2),
      best === null ? "n/a" : `${best.auroc.toFixed(3)} (${best.score})`,
      ...OOD_SCORES.map((s) => fixed(r.auroc[s], 3)),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

const BEGIN = /<!-- study-results: (\S+) -->\n/;
const END = "<!-- /study-results -->";

/** The study.json path a README's results block names and the block's current text; null without a block. */
export function readmeResultsBlock(readme: string): { source: string; text: string; start: number; end: number } | null {
  const m = BEGIN.exec(readme);
  if (m === null) return null;
  const start = m.index + m[0].length;
  const end = readme.indexOf(END, start);
  if (end < 0) throw new Error(`README: "<!-- study-results: ${m[1]} -->" has no closing "${END}"`);
  return { source: m[1]!, text: readme.slice(start, end).replace(/\n$/, ""), start, end };
}

/** The README with its results block regenerated from `block` (the text between the markers). */
export function replaceReadmeResults(readme: string, block: string): string {
  const found = readmeResultsBlock(readme);
  if (found === null) throw new Error("README has no <!-- study-results: PATH --> block");
  return `${readme.slice(0, found.start)}${block}\n${readme.slice(found.end)}`;
}
