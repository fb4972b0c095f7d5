// `gcrl study` through bin/gcrl.js: options that would make a run unable to train (α = 0, τ = 0,
// unreadable sweeps, a sweep without a gcrl row, an unknown OOD set) exit 2 at once with one line
// naming the option, before the study folder exists — not after the first runs have trained.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../bin/gcrl.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "gcrl-study-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `gcrl study --out <fresh> --steps 1 ...args`; its exit code, stderr lines, seconds, and whether the folder exists. */
function study(args: string[]): { status: number | null; lines: string[]; seconds: number; created: boolean } {
  const out = join(dir, `s${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, "study", "--out", out, "--steps", "1", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, lines: r.stderr.trim().split("\n"), seconds: (performance.now() - started) / 1000, created: existsSync(out) };
}

const cases: [string[], RegExp][] = [
  [["--alpha", "0"], /^gcrl study: --alpha: expected comma-separated numbers > 0 \(α weights the generative loss .*--modes simclr\), got '0'/],
  [["--alpha", "0.5,0,2"], /^gcrl study: --alpha: expected comma-separated numbers > 0 .*, got '0\.5,0,2'/],
  [["--beta", "0"], /^gcrl study: --beta: expected comma-separated numbers > 0 \(β .*--modes igpt\), got '0'/],
  [["--tau", "0"], /^gcrl study: --tau: expected comma-separated numbers > 0 \(τ is the NT-Xent temperature\), got '0'/],
  [["--alpha", "1,,2"], /^gcrl study: --alpha: expected comma-separated numbers > 0 .*, got '1,,2'/],
  [["--alpha", ""], /^gcrl study: --alpha: expected comma-separated numbers > 0 .*, got ''/],
  [["--tau", "fast"], /^gcrl study: --tau: expected comma-separated numbers > 0 .*, got 'fast'/],
  [["--modes", "igpt,simclr", "--alpha", "0.5,1"], /^gcrl study: --alpha: a sweep adds GCRL rows, but --modes igpt,simclr has no gcrl$/],
  [["--ood", "imagenet"], /^gcrl study: --ood: unknown dataset 'imagenet' \(known: fashion-mnist, mnist, /],
  [["--data", "imagenet"], /^gcrl study: command line: --data: unknown dataset "imagenet"/],
  [["--background-perturb", "1"], /^gcrl study: --background-perturb: expected a probability in \(0, 1\) such as 0.2, got '1'/],
  [["--epochs", "1.5"], /^gcrl study: --epochs: expected an integer >= 1, got '1\.5'/],
];

for (const [args, message] of cases) {
  test(`gcrl study ${args.join(" ")} exits 2 at once with one line naming the option, and makes no folder`, () => {
    const r = study(args);
    assert.equal(r.status, 2, r.lines.join("\n"));
    assert.match(r.lines[0]!, message);
    assert.equal(r.lines.filter((l) => l.startsWith("gcrl study:")).length, 1, r.lines.join("\n"));
    assert.equal(r.created, false, "the study folder was created");
    assert.ok(r.seconds < 30, `took ${r.seconds.toFixed(1)} s`);
  });
}
