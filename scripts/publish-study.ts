// node --import tsx scripts/publish-study.ts STUDY_DIR RESULTS_DIR
// Copies a finished study's small files (study.json, study.md, the PNGs it shows) into RESULTS_DIR
// (e.g. results/fmnist-1h) and regenerates README.md's results block from RESULTS_DIR/study.json,
// pointing the block at it. test/study/study-publish.test.ts keeps README and study.json equal.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publishStudy, readStudyReport, replaceReadmeResults, studyResultsMarkdown } from "../src/study/study-publish.ts";

const [studyDir, resultsDir] = process.argv.slice(2);
if (studyDir === undefined || resultsDir === undefined) {
  console.error("usage: node --import tsx scripts/publish-study.ts STUDY_DIR RESULTS_DIR");
  process.exit(2);
}
const files = publishStudy(studyDir, resultsDir);
console.log(`copied ${files.length} files into ${resultsDir}`);
const source = join(resultsDir, "study.json");
const readme = readFileSync("README.md", "utf8").replace(/<!-- study-results: \S+ -->/, `<!-- study-results: ${source} -->`);
writeFileSync("README.md", replaceReadmeResults(readme, studyResultsMarkdown(readStudyReport(source))));
console.log(`README.md: results block regenerated from ${source}`);
