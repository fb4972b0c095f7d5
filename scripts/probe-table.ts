// node --import tsx scripts/probe-table.ts DIR
// The markdown table of the logs scripts/probe-all-train.sh (and the commands in docs/recipes.md)
// left in DIR: per log, what r(x) it probed (run, layer choice, dimensions), the training and test
// images, the probe's chosen L2 with its validation and test accuracy, or the kNN accuracy. Every
// number is read from the log's own lines, so the table shows what the commands printed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (dir === undefined) {
  console.error("usage: node --import tsx scripts/probe-table.ts DIR");
  process.exit(2);
}
const match = (text: string, re: RegExp, file: string): RegExpMatchArray => {
  const m = text.match(re);
  if (m === null) throw new Error(`${file}: no line matching ${re}`);
  return m;
};
console.log("| log | r(x) | dims | training / test images | chosen L2 | probe validation | probe test | kNN test |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".log")).sort()) {
  const text = readFileSync(join(dir, file), "utf8");
  if (text.startsWith("raw-pixel linear probe")) {
    const [, ntr, nte, dims] = match(text, /(\d+) train \/ (\d+) test images, (\d+) features/, file);
    const [, l2] = match(text, /chosen λ = ([^ ]+) /, file);
    const [, , val, tst] = match(text, /train ([\d.]+)%  validation ([\d.]+)%  test ([\d.]+)%/, file);
    console.log(`| ${file} | raw pixels | ${dims} | ${ntr} / ${nte} | ${l2} | ${val}% | ${tst}% | |`);
    continue;
  }
  const run = match(text, /^gcrl eval (?:probe|knn): \S+\/runs\/(\S+) /, file)[1];
  const representation = match(text, /\n\s*representation: (.*)\n/, file)[1]!;
  const what = representation.split(":")[0]!.replace(" (--concat-layers)", "").replace("the r(x) of ", "");
  if (text.includes("\nkNN: ")) {
    const [, ntr, acc, nte] = match(text, /kNN: .*, (\d+) training images: test accuracy ([\d.]+)% \((\d+) images\)/, file);
    console.log(`| ${file} | ${run}: ${what} | | ${ntr} / ${nte} | | | | ${acc}% |`);
    continue;
  }
  const [, dims, ntr, nte] = match(text, /linear probe on r\(x\) \(.*; (\d+) dims, standardised\), (\d+) training \/ (\d+) test images/, file);
  const [, l2] = match(text, /chosen L2 (\S+) /, file);
  const [, , val, tst] = match(text, /\ntrain ([\d.]+)%  validation ([\d.]+)%  test ([\d.]+)%/, file);
  console.log(`| ${file} | ${run}: ${what} | ${dims} | ${ntr} / ${nte} | ${l2} | ${val}% | ${tst}% | |`);
}
