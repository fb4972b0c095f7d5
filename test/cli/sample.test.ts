// `gcrl sample` and `gcrl complete` in-process (run(argv)) on a tiny trained run: the PNG grids
// (size, and pixels equal to the library's sampleTokens / completeTokens painted with the run's
// palette), the summary lines, and the errors: bad options, missing run, simclr runs, data whose
// image shape does not fit the model.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import type { Tensor } from "../../src/torch/index.ts";
import { loadRun } from "../../src/train/load-run.ts";
import { loadDataset } from "../../src/data/datasets/index.ts";
import { disposeSet } from "../../src/data/image-set.ts";
import { completeTokens, sampleTokens } from "../../src/eval/sampling.ts";
import { run as sampleCommand } from "../../src/cli/sample.ts";
import { run as completeCommand } from "../../src/cli/complete.ts";
import { tempFolder, trainTinyCliRun } from "../train/trainer-fixtures.ts";

const tmp = tempFolder("sample-cli");
after(() => tmp.cleanup());
const runDir = join(tmp.dir, "run");
const simclrDir = join(tmp.dir, "simclr");

before(async () => {
  await trainTinyCliRun(runDir);
  // A simclr run: the same folder with the objective mode changed (only the mode is checked).
  cpSync(runDir, simclrDir, { recursive: true });
  const configPath = join(simclrDir, "config.json");
  const file = JSON.parse(readFileSync(configPath, "utf8")) as { config: { objective: { mode: string } } };
  file.config.objective.mode = "simclr";
  writeFileSync(configPath, JSON.stringify(file, null, 2));
});

/** Runs a command with console.log / console.error captured. */
async function capture(command: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await command(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A grayscale PNG's pixels and size. */
async function readGray(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** The 28×28 cell at grid position (line, column) of a scale-1 grid with 2-pixel gaps. */
function cell(png: { data: Uint8Array; width: number }, line: number, column: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(png.data[(2 + line * 30 + y) * png.width + 2 + column * 30 + x]!);
  return out;
}

function painted(tokens: Tensor, palette: { dequantize(t: Tensor): Tensor }): number[] {
  const img = palette.dequantize(tokens);
  const a = img.toArray();
  img.dispose();
  tokens.dispose();
  return a;
}

describe("gcrl sample", () => {
  test("writes the grid of the library's samples and prints samples/s", async () => {
    const out = join(tmp.dir, "s.png");
    const r = await capture(sampleCommand, ["--run", runDir, "--n", "5", "--per-row", "3", "--scale", "1", "--seed", "7", "--temperature", "0.8", "--batch-size", "2", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /5 samples \(28×28, K=16\) from .* at step 2; temperature 0\.8, top-k all, seed 7/);
    assert.match(r.out, /[\d.]+ samples\/s \(axial, cached steps\)/);
    const png = await readGray(out);
    assert.deepEqual([png.width, png.height], [3 * 28 + 4 * 2, 2 * 28 + 3 * 2]);
    const loaded = loadRun(runDir);
    const expected = painted(sampleTokens(loaded.model, 5, { seed: 7, temperature: 0.8 }), loaded.palette);
    assert.deepEqual(cell(png, 0, 0), expected.slice(0, 784));
    assert.deepEqual(cell(png, 1, 1), expected.slice(4 * 784, 5 * 784));
    assert.ok(cell(png, 1, 2).every((v) => v === 255), "the empty sixth cell is background");
    loaded.model.dispose();
    loaded.palette.dispose();
  });

  test("refuses simclr runs, missing runs and bad options with exit 2", async () => {
    const out = join(tmp.dir, "never.png");
    const simclr = await capture(sampleCommand, ["--run", simclrDir, "--out", out]);
    assert.equal(simclr.code, 2);
    assert.match(simclr.err, /trained in simclr mode .* decoder was never trained/);
    const missing = await capture(sampleCommand, ["--run", join(tmp.dir, "nothing"), "--out", out]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^gcrl sample: .*nothing: no such run folder$/);
    assert.match((await capture(sampleCommand, ["--out", out])).err, /--run DIR is required/);
    const cases: [string[], RegExp][] = [
      [["--temperature", "0"], /--temperature: expected a number > 0, got '0'/],
      [["--temperature", "abc"], /--temperature: expected a number > 0, got 'abc'/],
      [["--top-k", "17"], /--top-k: expected an integer in \[0, 16\], got '17'/],
      [["--n", "0"], /--n: expected an integer in \[1, 100000\], got '0'/],
      [["--seed=-1"], /--seed: expected an integer in \[0, 4294967295\]/],
      [["--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const r = await capture(sampleCommand, ["--run", runDir, "--out", out, ...argv]);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.err, message);
      assert.match(r.err, /gcrl sample --help/);
    }
  });

  test("--help lists the options with their defaults", async () => {
    const r = await capture(sampleCommand, ["--help"]);
    assert.equal(r.code, 0);
    for (const o of ["--run DIR", "--n N", "--temperature T", "--top-k K", "--seed N", "--per-row N", "--scale N", "--out FILE"]) assert.ok(r.out.includes(o), o);
    assert.match(r.out, /\(default samples\.png\)/);
  });
});

describe("gcrl complete", () => {
  test("one line per image: original | masked | completions, equal to the library's", async () => {
    const out = join(tmp.dir, "c.png");
    const r = await capture(completeCommand, ["--run", runDir, "--n", "2", "--samples", "2", "--rows", "10", "--scale", "1", "--seed", "3", "--top-k", "4", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /2 images of .* \(test\), rows 0–9 given, 2 completions each/);
    assert.match(r.out, /lines: original \(quantized\) \| masked \| 2 completions/);
    const png = await readGray(out);
    assert.deepEqual([png.width, png.height], [4 * 28 + 5 * 2, 2 * 28 + 3 * 2]);
    const loaded = loadRun(runDir);
    const set = await loadDataset({ name: "fashion-mnist", split: "test", limit: 2 });
    const originals = loaded.palette.quantize(set.images);
    const completions = painted(completeTokens(loaded.model, originals, 10, 2, { seed: 3, topK: 4 }), loaded.palette);
    const quantized = painted(originals, loaded.palette);
    disposeSet(set);
    for (let n = 0; n < 2; n++) {
      const original = quantized.slice(n * 784, (n + 1) * 784);
      assert.deepEqual(cell(png, n, 0), original);
      assert.deepEqual(cell(png, n, 1), [...original.slice(0, 280), ...new Array<number>(784 - 280).fill(128)]);
      for (let s = 0; s < 2; s++) {
        const c = cell(png, n, 2 + s);
        assert.deepEqual(c, completions.slice((n * 2 + s) * 784, (n * 2 + s + 1) * 784));
        assert.deepEqual(c.slice(0, 280), original.slice(0, 280), "given rows kept");
      }
    }
    loaded.model.dispose();
    loaded.palette.dispose();
  });

  test("--rows defaults to H/2; data of another image shape is refused", async () => {
    const out = join(tmp.dir, "c2.png");
    const r = await capture(completeCommand, ["--run", runDir, "--n", "1", "--samples", "1", "--data", "mnist-digits", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rows 0–13 given, 1 completions each/);
    const folder = join(tmp.dir, "small-images");
    mkdirSync(folder);
    for (const name of ["a.png", "b.png"]) {
      await sharp(Buffer.alloc(100, 90), { raw: { width: 10, height: 10, channels: 1 } }).png().toFile(join(folder, name));
    }
    const bad = await capture(completeCommand, ["--run", runDir, "--data", `folder:${folder}`, "--out", out]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--data folder:.*: its images are 10×10×\d, but the model of .* takes 28×28×1 images/);
    const cases: [string[], RegExp][] = [
      [["--rows", "29"], /--rows: expected an integer in \[0, 28\], got '29'/],
      [["--samples", "0"], /--samples: expected an integer in \[1, 1024\]/],
      [["--split", "valid"], /--split: expected train, test or all, got 'valid'/],
      [["--data", "nope"], /--data: unknown dataset 'nope'/],
    ];
    for (const [argv, message] of cases) {
      const e = await capture(completeCommand, ["--run", runDir, "--out", out, ...argv]);
      assert.equal(e.code, 2, argv.join(" "));
      assert.match(e.err, message);
    }
    const simclr = await capture(completeCommand, ["--run", simclrDir, "--out", out]);
    assert.equal(simclr.code, 2);
    assert.match(simclr.err, /simclr mode/);
  });
});

