// Publishing a study (src/study/study-publish.ts): the README's results block is generated from a
// committed results/<name>/study.json — this test regenerates it and compares, so the README quotes
// only numbers the committed file holds — and publishStudy copies study.json, study.md, the images
// it shows, and each run's report.md, eval.json and the images that report shows; no weights. A known answer for one generated table row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publishStudy, readStudyReport, readmeResultsBlock, replaceReadmeResults, studyResultsMarkdown, bestUnsupervisedAuroc } from "../../src/study/study-publish.ts";
import { OOD_SCORES, STUDY_FORMAT, STUDY_VERSION, type StudyReport, type StudyRow } from "../../src/study/study-report.ts";
import { tempFolder } from "../train/trainer-fixtures.ts";

function row(id: string, patch: Partial<StudyRow> = {}): StudyRow {
  const auroc = Object.fromEntries(OOD_SCORES.map((s) => [s, null])) as StudyRow["auroc"];
  return { id, mode: id, alpha: 1, beta: 1, tau: 0.1, steps: 100, trainSeconds: 600, evalSeconds: 90, probe: 0.8612, knn: 0.8, bitsPerDim: 1.23456, fid: 12.345, fidFloor: 8, auroc, na: {}, ...patch };
}

function report(rows: StudyRow[]): StudyReport {
  return { format: STUDY_FORMAT, version: STUDY_VERSION, createdAt: "2026-12-03T12:00:00.000Z", data: "fashion-mnist", ood: "mnist-digits", budget: "100 steps per run (equal steps)", machine: "2 × CPU", commands: [["gcrl", "study", "--out", "s"]], rows, references: [] };
}

test("the README's results block equals the one generated from the study.json it names", () => {
  const readme = readFileSync("README.md", "utf8");
  const block = readmeResultsBlock(readme);
  assert.ok(block !== null, "README.md has no <!-- study-results: results/<name>/study.json --> block");
  assert.match(block.source, /^results\/[^/]+\/study\.json$/, "the block names a committed results file");
  assert.ok(existsSync(block.source), `${block.source} is not in the repository`);
  assert.equal(block.text, studyResultsMarkdown(readStudyReport(block.source)), "README.md's results differ from the committed study.json: run scripts/publish-study.ts");
});

test("studyResultsMarkdown: a known row; best unsupervised AUROC ignores supervised scores", () => {
  const r = row("gcrl");
  r.auroc.nll = 0.2;
  r.auroc.mahalanobis = 0.91;
  r.auroc.msp = 0.99; // supervised: not the best unsupervised
  assert.deepEqual(bestUnsupervisedAuroc(r), { score: "mahalanobis", auroc: 0.91 });
  const md = studyResultsMarkdown(report([r, row("simclr", { bitsPerDim: null, fid: null, steps: null })]));
  const lines = md.split("\n");
  assert.equal(lines[0], "Command: `gcrl study --out s`");
  const continued = studyResultsMarkdown({ ...report([r]), commands: [["gcrl", "study", "--out", "s"], ["gcrl", "study", "--out", "s"], ["gcrl", "study", "--out", "t"]] });
  assert.equal(continued.split("\n")[0], "Command: `gcrl study --out s` (run 2 times: the same command continues a study) then `gcrl study --out t`");
  assert.match(lines[1]!, /^Machine: 2 × CPU\. Budget: 100 steps per run \(equal steps\)\./);
  assert.ok(lines[5]!.startsWith("| gcrl | 100 | 10.0 | 1.5 | 86.12% | 80.00% | 1.2346 | 12.35 | 0.910 (mahalanobis) | 0.200 | "), lines[5]);
  assert.ok(lines[6]!.startsWith("| simclr | n/a | 10.0 | 1.5 | 86.12% | 80.00% | n/a | n/a | n/a | "), lines[6]);
  const readme = "a\n<!-- study-results: results/x/study.json -->\nold\n<!-- /study-results -->\nb\n";
  assert.equal(replaceReadmeResults(readme, "new"), "a\n<!-- study-results: results/x/study.json -->\nnew\n<!-- /study-results -->\nb\n");
  assert.throws(() => replaceReadmeResults("no block", "x"), /no <!-- study-results/);
});

test("publishStudy copies study.json, study.md, the runs' reports and the images they show, no weights", () => {
  const folder = tempFolder("publish");
  try {
    const study = join(folder.dir, "study");
    mkdirSync(join(study, "runs", "gcrl", "eval"), { recursive: true });
    writeFileSync(join(study, "study.json"), JSON.stringify(report([row("gcrl")])));
    writeFileSync(join(study, "study.md"), "# s\n\n![samples](runs/gcrl/eval/samples.png)\n");
    writeFileSync(join(study, "runs", "gcrl", "eval", "samples.png"), "png");
    writeFileSync(join(study, "runs", "gcrl", "model.safetensors"), "weights");
    writeFileSync(join(study, "runs", "gcrl", "report.md"), "![roc](eval/roc.png)\n");
    writeFileSync(join(study, "runs", "gcrl", "eval.json"), "{}");
    writeFileSync(join(study, "runs", "gcrl", "eval", "roc.png"), "png");
    writeFileSync(join(study, "runs", "gcrl", "config.json"), "{}");
    writeFileSync(join(study, "runs", "gcrl", "metrics.jsonl"), "{}\n");
    mkdirSync(join(study, "runs", "background"));
    writeFileSync(join(study, "runs", "background", "config.json"), "{}");
    writeFileSync(join(study, "runs", "background", "checkpoint.safetensors"), "weights");
    const out = join(folder.dir, "results");
    assert.deepEqual(publishStudy(study, out), ["study.json", "study.md", "runs/gcrl/eval/samples.png", "runs/gcrl/report.md", "runs/gcrl/eval.json", "runs/gcrl/eval/roc.png", "runs/gcrl/config.json", "runs/gcrl/metrics.jsonl", "runs/background/config.json"]);
    assert.ok(!existsSync(join(out, "runs", "background", "checkpoint.safetensors")), "no checkpoints");
    assert.ok(existsSync(join(out, "runs", "gcrl", "eval", "samples.png")));
    assert.ok(!existsSync(join(out, "runs", "gcrl", "model.safetensors")), "no weights");
    writeFileSync(join(study, "study.md"), "![gone](runs/gcrl/eval/missing.png)\n");
    assert.throws(() => publishStudy(study, out), /missing\.png: referenced by the study's reports but missing/);
  } finally {
    folder.cleanup();
  }
});
