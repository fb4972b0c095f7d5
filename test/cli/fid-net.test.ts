// `gcrl fid-net train` end to end on a few hundred mnist-digits images: progress on stderr, the
// result line on stdout, a folder that loadFidNet reads; refusal to overwrite without --force;
// usage errors exit 2.
import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFidNet } from "../../src/eval/fid-net.ts";
import { run } from "../../src/cli/fid-net.ts";

const bin = new URL("../../bin/gcrl.js", import.meta.url).pathname;
const gcrl = (...args: string[]) => spawnSync(process.execPath, [bin, "fid-net", ...args], { encoding: "utf8" });

test("trains on --limit images, saves a loadable net, refuses to overwrite without --force", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-fid-net-cli-"));
  try {
    const out = join(dir, "net");
    const args = ["train", "--data", "mnist-digits", "--limit", "300", "--epochs", "3", "--batch-size", "25", "--lr", "0.003", "--seed", "3", "--out", out];
    const r = gcrl(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fid-net: training on 300 images of .*28×28×1\), testing on 300; 3 epoch\(s\), batch 25, lr 0\.003, seed 3/);
    assert.match(r.stderr, /epoch 3\/3 done in .* test accuracy/);
    assert.match(r.stdout, new RegExp(`^fid-net: test accuracy \\d+\\.\\d\\d% on 300 mnist-digits test images after 3 epoch\\(s\\) .*; saved in ${out}\\n$`));
    const { net, info } = loadFidNet(out);
    assert.equal(info.dataset, "mnist-digits");
    assert.equal(info.trainImages, 300);
    assert.equal(info.testImages, 300);
    assert.equal(info.seed, 3);
    assert.deepEqual(info.config, { height: 28, width: 28, channels: 1, numClasses: 10, featureDim: 128 });
    assert.equal(info.epochs, 3);
    assert.ok(info.testAccuracy > 0.5, `accuracy ${info.testAccuracy} after 3 epochs of 300 digits (chance: 0.1)`);
    net.dispose();
    const again = gcrl(...args);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds a FID net .*pass --force/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--help and a usage error through the real command", () => {
  const help = gcrl("train", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: gcrl fid-net train/);
  assert.match(help.stdout, /--epochs N .*\(default 2\)/);
  const bad = gcrl("train", "--epochs", "0");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--epochs: expected an integer in \[1, 1000\], got '0'/);
  assert.match(bad.stderr, /gcrl fid-net train --help/);
});

test("usage errors and unknown sub-commands (run() in process)", async () => {
  const errors: string[] = [];
  const logs: string[] = [];
  const err = mock.method(console, "error", (...a: unknown[]) => void errors.push(a.join(" ")));
  const log = mock.method(console, "log", (...a: unknown[]) => void logs.push(a.join(" ")));
  try {
    const cases: [string[], number, RegExp][] = [
      [["train", "--lr", "abc"], 2, /--lr: expected a positive number, got 'abc'/],
      [["train", "--data", "no-such-set"], 2, /--data: unknown dataset 'no-such-set'/],
      [["train", "--limit", "0"], 2, /--limit: expected an integer >= 1, got '0'/],
      [["train", "extra"], 2, /unexpected argument: extra/],
      [["fit"], 2, /unknown sub-command 'fit'/],
      [[], 2, /Usage: gcrl fid-net <sub-command>/],
    ];
    for (const [argv, status, message] of cases) {
      errors.length = 0;
      assert.equal(await run(argv), status, argv.join(" "));
      assert.match(errors.join("\n"), message, argv.join(" "));
    }
    assert.equal(await run(["--help"]), 0);
    assert.match(logs.join("\n"), /train +train the FID feature CNN/);
  } finally {
    err.mock.restore();
    log.mock.restore();
  }
});
