// Option names across commands (issue 16, item 5): a deprecated alias (OptionSpec.aliasOf) sets its
// new option with one note on stderr, and the new names are what the commands read — eval's
// --knn-k / --knn-temperature / --ood*, study's and train's --minutes (minutes or a duration).
// The command-line cases run bin/gcrl.js and stop at a usage error or a missing run folder, so no
// training is needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deprecatedAlias, helpText, parseCommandLine, parseOptions, UsageError, type OptionSpec } from "../../src/cli/args.ts";
import { settingsFromOptions } from "../../src/cli/eval.ts";
import { minutesFlag } from "../../src/cli/train.ts";
import { parseDuration } from "../../src/train/budget.ts";

const bin = new URL("../../bin/gcrl.js", import.meta.url).pathname;
const gcrl = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 });

const NEW: OptionSpec = { type: "string", value: "T", default: "0.07", help: "kNN: votes weighted exp(cosine / T)" };
const TABLE = { "knn-temperature": NEW, temperature: deprecatedAlias("knn-temperature", NEW), verbose: { type: "boolean", help: "more" } } satisfies Record<string, OptionSpec>;

/** Runs f with console.error captured; returns its result and the lines printed. */
function capturingStderr<T>(f: () => T): { result: T; lines: string[] } {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    return { result: f(), lines };
  } finally {
    console.error = original;
  }
}

test("a deprecated alias sets its option, prints one note naming the new spelling, and is absent from the values", () => {
  const { result, lines } = capturingStderr(() => parseOptions(["--temperature", "0.1", "--temperature", "0.2"], TABLE, 0, "gcrl eval"));
  assert.deepEqual(result?.values, { "knn-temperature": "0.2", verbose: false });
  assert.deepEqual(lines, ["gcrl eval: --temperature is deprecated, use --knn-temperature"]);
});

test("the new spelling prints nothing; absent, the option keeps its default", () => {
  const given = capturingStderr(() => parseOptions(["--knn-temperature", "0.5"], TABLE));
  assert.deepEqual(given.result?.values, { "knn-temperature": "0.5", verbose: false });
  assert.deepEqual(given.lines, []);
  assert.equal(parseOptions([], TABLE)?.values["knn-temperature"], "0.07");
});

test("an alias given with its new spelling is a usage error naming both", () => {
  assert.throws(
    () => capturingStderr(() => parseOptions(["--temperature", "0.1", "--knn-temperature", "0.2"], TABLE)),
    (err: unknown) => err instanceof UsageError && /--temperature and --knn-temperature are the same option .*give --knn-temperature only/.test(err.message),
  );
});

test("parseCommandLine names the command by the usage's first two words; --help lists the aliases last", () => {
  const { lines } = capturingStderr(() => parseCommandLine(["--temperature", "1"], TABLE, "gcrl eval knn --run DIR [options]", "kNN"));
  assert.deepEqual(lines, ["gcrl eval: --temperature is deprecated, use --knn-temperature"]);
  const help = helpText("gcrl x", "x", TABLE).split("\n");
  const row = (flag: string): number => help.findIndex((l) => l.includes(flag));
  assert.match(help[row("--temperature T")]!, /deprecated: use --knn-temperature$/);
  assert.ok(row("--verbose") < row("--temperature T"), help.join("\n"));
});

test("an alias of an option the table lacks is a bug in the table, not a usage error", () => {
  const bad = { old: deprecatedAlias("gone", NEW) };
  assert.throws(() => parseOptions(["--old", "1"], bad), (err: unknown) => err instanceof Error && !(err instanceof UsageError));
});

test("eval's settings come from the new names", () => {
  const s = settingsFromOptions({ "knn-k": "5", "knn-temperature": "0.1", ood: "mnist-digits", "ood-dir": "d", "ood-split": "all", "ood-images": "7" });
  assert.deepEqual(
    { knnK: s.knnK, knnTemperature: s.knnTemperature, ood: s.ood, oodDataDir: s.oodDataDir, oodSplit: s.oodSplit, oodImages: s.oodImages },
    { knnK: 5, knnTemperature: 0.1, ood: "mnist-digits", oodDataDir: "d", oodSplit: "all", oodImages: 7 },
  );
  assert.throws(() => settingsFromOptions({ "knn-temperature": "0" }), /--knn-temperature: expected a number > 0, got '0'/);
});

test("train's and study's --minutes: minutes or a duration", () => {
  assert.equal(parseDuration("45"), 45);
  assert.equal(parseDuration("1.5h"), 90);
  assert.equal(parseDuration("900s"), 15);
  assert.equal(parseDuration("0"), null);
  assert.equal(minutesFlag("30m"), "30");
  assert.equal(minutesFlag("2.5"), "2.5");
  assert.equal(minutesFlag("null"), "null");
  assert.throws(() => minutesFlag("soon"), /--minutes: expected minutes \(a number > 0\) or a duration like 30m, 1\.5h or 900s, got 'soon'/);
});

test("gcrl eval --temperature and --out still work, each with one note on stderr", () => {
  const missing = join(tmpdir(), "gcrl-no-such-run");
  const r = gcrl("eval", "ood", "--run", missing, "--out", "mnist-digits", "--out-split", "test");
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.deepEqual(lines.slice(0, 2), ["gcrl eval: --out is deprecated, use --ood", "gcrl eval: --out-split is deprecated, use --ood-split"]);
  assert.match(lines[2]!, /^gcrl eval ood: .*gcrl-no-such-run/); // the run folder, not the options, is what failed
  const knn = gcrl("eval", "knn", "--run", missing, "--temperature", "0.1");
  assert.equal(knn.stderr.split("\n")[0], "gcrl eval: --temperature is deprecated, use --knn-temperature");
  const bad = gcrl("eval", "knn", "--run", missing, "--temperature", "0");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--knn-temperature: expected a number > 0, got '0'/);
});

test("gcrl study --budget is --minutes with a note; a bad --minutes exits 2 before the study folder exists", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-args-"));
  try {
    const out = join(dir, "s");
    // --alpha 0 stops the study after the budget was read, so each case exits 2 without training.
    const old = gcrl("study", "--out", out, "--budget", "30m", "--alpha", "0");
    assert.equal(old.status, 2, old.stderr);
    assert.deepEqual(old.stderr.trim().split("\n").slice(0, 2).map((l) => l.replace(/ \(.*/, "")), ["gcrl study: --budget is deprecated, use --minutes", "gcrl study: --alpha: expected comma-separated numbers > 0"]);
    const now = gcrl("study", "--out", out, "--minutes", "1.5h", "--alpha", "0");
    assert.equal(now.status, 2);
    assert.match(now.stderr, /^gcrl study: --alpha: /);
    const wrong = gcrl("study", "--out", out, "--minutes", "soon");
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /^gcrl study: --minutes: expected minutes \(a number > 0\) or a duration like 30m, 1\.5h or 900s, got 'soon'/);
    const both = gcrl("study", "--out", out, "--minutes", "30", "--budget", "30m");
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--budget and --minutes are the same option/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
