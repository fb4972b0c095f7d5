// Every expected failure of `gcrl train`, `eval`, `sample` as a user meets it (node bin/gcrl.js …,
// real child processes, real files): exit 2, the message on one line naming the file or config key,
// and no stack trace (only with GCRL_DEBUG=1). One tiny trained run is copied and damaged for each
// case: missing / corrupt / truncated / absurd-header safetensors, missing or corrupt config and
// palette, NaN weights, a palette of the wrong K, config.json sections that disagree; data too small
// for a batch (a folder, and IDX files given by --data-dir), an empty folder, an RGB folder with
// fewer colours than K, a folder of mixed sizes; a full disk (/dev/full, and a 4 KiB tmpfs when
// root), --device cuda without CUDA (train, sample, every eval subcommand, study), an --out that
// cannot be created. A corrupt line in the middle
// of metrics.jsonl only warns: eval, sample and resume go on.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { cudaAvailable } from "../../src/torch/index.ts";
import { appendMetrics, readMetrics, RUN_FILES } from "../../src/train/run-folder.ts";
import { FileError } from "../../src/util/input-error.ts";
import { TINY_OVERRIDES, tempFolder, trainTinyCliRun } from "../train/trainer-fixtures.ts";

const tmp = tempFolder("errors-cli");
const runDir = join(tmp.dir, "run");
const tinyFile = join(tmp.dir, "tiny.json");
/** Where the 4 KiB tmpfs is mounted (null: not root, or mount refused). */
let fullDisk: string | null = null;

before(async () => {
  await trainTinyCliRun(runDir);
  writeFileSync(tinyFile, JSON.stringify({ ...TINY_OVERRIDES, budget: { steps: 2, epochs: null, minutes: null }, data: { ...TINY_OVERRIDES.data, evalImages: 0 } }));
  await writeFolders();
  fullDisk = mountFullDisk(join(tmp.dir, "full"));
});

after(() => {
  if (fullDisk !== null) spawnSync("umount", [fullDisk]);
  tmp.cleanup();
});

/** Image folders: 3 grayscale images, none, 16 two-colour RGB images, two sizes; IDX files of 3 images. */
async function writeFolders(): Promise<void> {
  const png = async (path: string, w: number, h: number, channels: 1 | 3, fill: (i: number) => number): Promise<void> => {
    const raw = Buffer.alloc(w * h * channels);
    for (let i = 0; i < raw.length; i++) raw[i] = fill(i);
    await sharp(raw, { raw: { width: w, height: h, channels } }).png().toFile(path);
  };
  for (const name of ["few", "empty", "rgb2", "mixed", "idx"]) mkdirSync(join(tmp.dir, name));
  for (let k = 0; k < 3; k++) await png(join(tmp.dir, "few", `${k}.png`), 8, 8, 1, (i) => (i * 7 + k * 31) % 256);
  for (let k = 0; k < 16; k++) await png(join(tmp.dir, "rgb2", `${k}.png`), 8, 8, 3, (i) => ((Math.floor(i / 3) + k) % 2 ? 255 : 0));
  await png(join(tmp.dir, "mixed", "a.png"), 8, 8, 1, (i) => i % 256);
  await png(join(tmp.dir, "mixed", "b.png"), 9, 8, 1, (i) => i % 256);
  // IDX (big-endian header: magic, then one uint32 per dimension): 3 images 28×28, 3 labels.
  const header = (...words: number[]): Buffer => {
    const b = Buffer.alloc(4 * words.length);
    words.forEach((w, i) => b.writeUInt32BE(w, 4 * i));
    return b;
  };
  const images = Buffer.alloc(3 * 28 * 28).map((_, i) => (i * 13) % 256);
  writeFileSync(join(tmp.dir, "idx", "train-images-idx3-ubyte"), Buffer.concat([header(0x803, 3, 28, 28), images]));
  writeFileSync(join(tmp.dir, "idx", "train-labels-idx1-ubyte"), Buffer.concat([header(0x801, 3), Buffer.from([0, 1, 2])]));
}

/** Mounts a 4 KiB tmpfs at `dir` (one page: a file that fills it makes the next write fail with ENOSPC); null when not root or refused. */
function mountFullDisk(dir: string): string | null {
  if (process.getuid?.() !== 0) return null;
  mkdirSync(dir);
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir]).status === 0 ? dir : null;
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gcrl ARGS` in a child process (GCRL_DEBUG unset unless `env` sets it). */
function gcrl(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  const { GCRL_DEBUG: _, ...inherited } = process.env;
  const child = spawn(process.execPath, ["bin/gcrl.js", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...inherited, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** A copy of the tiny run, changed by `damage` (given the copy's folder). */
function runCopy(name: string, damage: (dir: string) => void = () => {}): string {
  const dir = join(tmp.dir, "cases", name);
  cpSync(runDir, dir, { recursive: true });
  damage(dir);
  return dir;
}

const STACK_LINE = /^\s+at /m;

/**
 * Exit 2, no stack trace, and the error as the last line of stderr: "gcrl COMMAND: …" matching
 * `message`. With `alone`, that line is all of stderr (nothing was printed before the failure).
 */
function assertCleanError(r: Finished, command: string, message: RegExp, alone = true): void {
  const detail = `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
  assert.equal(r.code, 2, `exit code; ${detail}`);
  assert.doesNotMatch(r.stderr, STACK_LINE, `a stack trace was printed; ${detail}`);
  assert.doesNotMatch(r.stdout, STACK_LINE, `a stack trace was printed; ${detail}`);
  const lines = r.stderr.trimEnd().split("\n");
  const last = lines.at(-1)!;
  assert.ok(last.startsWith(`gcrl ${command}: `), `the last line names the command; ${detail}`);
  assert.match(last, message, detail);
  if (alone) assert.equal(lines.length, 1, `one line; ${detail}`);
}

const EVAL = (dir: string): string[] => ["eval", "knn", "--run", dir, "--train-images", "16", "--test-images", "8"];
/** The parts of config.json and palette.json the cases edit. */
interface Editable {
  model: { d: number };
  config: { model: { d: number } };
  k: number;
  centroids: number[][];
}
const editJson = (path: string, edit: (value: Editable) => void): void => {
  const value = JSON.parse(readFileSync(path, "utf8")) as Editable;
  edit(value);
  writeFileSync(path, JSON.stringify(value, null, 2));
};
const safetensorsHeader = (path: string, length: bigint): void => {
  const bytes = readFileSync(path);
  bytes.writeBigUInt64LE(length, 0);
  writeFileSync(path, bytes);
};
/** The weights with every value of tensor `name` made NaN (the header, offsets and other tensors unchanged). */
const poisonTensor = (path: string, name: string): void => {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const [begin, end] = header[name]!.data_offsets;
  for (let at = 8 + n + begin; at < 8 + n + end; at += 4) bytes.writeFloatLE(Number.NaN, at);
  writeFileSync(path, bytes);
};

// Run files that eval and sample load: each is named in one line, exit 2.
describe("run files: gcrl eval and gcrl sample", { concurrency: 2 }, () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ["missing model.safetensors", (d) => unlinkSync(join(d, RUN_FILES.model)), /: no model\.safetensors yet \(the run has not reached its first checkpoint\)$/],
    ["corrupt model.safetensors", (d) => writeFileSync(join(d, RUN_FILES.model), "not a safetensors file\n"), /model\.safetensors: the header length \d+ exceeds/],
    ["truncated model.safetensors", (d) => writeFileSync(join(d, RUN_FILES.model), readFileSync(join(d, RUN_FILES.model)).subarray(0, 30_000)), /invalid safetensors file .*model\.safetensors: tensor '[^']+': data_offsets \[\d+, \d+\] lie outside the \d+-byte data buffer$/],
    ["header length 2^63", (d) => safetensorsHeader(join(d, RUN_FILES.model), 2n ** 63n), /model\.safetensors: the header length 9223372036854775808 exceeds the \d+-byte limit/],
    ["missing config.json", (d) => unlinkSync(join(d, RUN_FILES.config)), /is not a run folder \(no config\.json\)$/],
    ["corrupt config.json", (d) => writeFileSync(join(d, RUN_FILES.config), '{"format": "gcrl.run", '), /config\.json: not valid JSON/],
    ["missing palette.json", (d) => unlinkSync(join(d, RUN_FILES.palette)), /palette\.json: cannot read it: no such file or folder$/],
    ["corrupt palette.json", (d) => writeFileSync(join(d, RUN_FILES.palette), '{"k": 3}'), /palette\.json: format is undefined, expected "gcrl\.palette"/],
    ["NaN weights", (d) => poisonTensor(join(d, RUN_FILES.model), "tok.weight"), /model\.safetensors: tensor 'tok\.weight' holds NaN or infinite values .*resume the run/],
    [
      "palette K differs from the model's",
      (d) => editJson(join(d, RUN_FILES.palette), (p) => {
        p.k = 8;
        p.centroids = p.centroids.slice(0, 8);
      }),
      /palette\.json: has K = 8 colours but the model predicts 16 \(model\.vocabSize in .*config\.json\)/,
    ],
    ["config.json sections disagree (model.d edited)", (d) => editJson(join(d, RUN_FILES.config), (c) => void (c.model.d = 32)), /config\.json: its sections disagree: config\.model\.d is 16 but model\.d is 32\. .*put back the value it was trained with$/],
    [
      "config.json edited in both sections: the weights do not fit",
      (d) => editJson(join(d, RUN_FILES.config), (c) => void (c.model.d = c.config.model.d = 32)),
      /model\.safetensors: does not fit the model described by .*config\.json \(\d+ problem\(s\): shape mismatch for .*; …\); was config\.json edited\?$/,
    ],
  ];
  for (const [name, damage, message] of cases) {
    test(`eval: ${name}`, async () => {
      const dir = runCopy(`eval-${name.replace(/\W+/g, "-")}`, damage);
      assertCleanError(await gcrl(EVAL(dir)), "eval knn", message);
    });
  }
  for (const [name, damage, message] of cases.filter(([n]) => n === "NaN weights")) { // the same loadRun as eval: one case shows the wiring
    test(`sample: ${name}`, async () => {
      const dir = runCopy(`sample-${name.replace(/\W+/g, "-")}`, damage);
      assertCleanError(await gcrl(["sample", "--run", dir, "--n", "2", "--out", join(dir, "s.png")]), "sample", message);
    });
  }

  test("resume: config.json sections disagree", async () => {
    const dir = runCopy("resume-sections", cases.find(([n]) => n.startsWith("config.json sections"))![1]);
    assertCleanError(await gcrl(["train", "--resume", dir, "--steps", "3"]), "train", /config\.json: its sections disagree: config\.model\.d is 16 but model\.d is 32/);
  });

  test("eval: --layer beyond the model's encoder layers", async () => {
    const r = await gcrl([...EVAL(runCopy("layer")), "--layer", "5"]);
    assertCleanError(r, "eval knn", /--layer 5: representation layer must be "auto" or an integer in \[1, 1\] for this model/);
  });

  test("eval: --layer 0.5 (a row block) without --row-blocks", async () => {
    const r = await gcrl([...EVAL(runCopy("row-block")), "--layer", "0.5"]);
    assertCleanError(r, "eval knn", /--layer 0\.5: representation layer must be "auto" or an integer in \[1, 1\] for this model \(a row block l - 0\.5 needs --row-blocks\)/);
  });

  test("GCRL_DEBUG=1 adds the stack trace, still exit 2", async () => {
    const dir = runCopy("debug", (d) => unlinkSync(join(d, RUN_FILES.model)));
    const r = await gcrl(EVAL(dir), { GCRL_DEBUG: "1" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.split("\n")[0]!, /^gcrl eval knn: .*no model\.safetensors yet/);
    assert.match(r.stderr, /RunFolderError: .*\n\s+at loadRun /);
  });
});

describe("metrics.jsonl with a corrupt line in the middle: warn, skip it, go on", { concurrency: 2 }, () => {
  const corrupt = (dir: string): void => {
    const path = join(dir, RUN_FILES.metrics);
    const lines = readFileSync(path, "utf8").split("\n");
    lines.splice(1, 0, '{"kind": "train", "st'); // line 2 of 3 records
    writeFileSync(path, lines.join("\n"));
  };
  const warning = /^gcrl: warning: .*metrics\.jsonl:2: not a JSON line; skipped$/m;

  test("eval", async () => {
    const r = await gcrl(EVAL(runCopy("metrics-eval", corrupt)));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, warning);
    assert.match(r.stdout, /kNN: .*test accuracy/);
  });

  test("sample", async () => {
    const dir = runCopy("metrics-sample", corrupt);
    const r = await gcrl(["sample", "--run", dir, "--n", "2", "--out", join(dir, "s.png")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, warning);
    assert.match(r.stdout, /2 samples/);
  });

  test("resume: continues, and the rewritten file no longer holds the line", async () => {
    const dir = runCopy("metrics-resume", corrupt);
    const r = await gcrl(["train", "--resume", dir, "--steps", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, warning);
    const text = readFileSync(join(dir, RUN_FILES.metrics), "utf8");
    assert.doesNotMatch(text, /"st\n/);
    assert.equal(readMetrics(join(dir, RUN_FILES.metrics), () => assert.fail("a bad line is left")).at(-1)!.step, 3);
  });
});

describe("training data that cannot be used: gcrl train", { concurrency: 2 }, () => {
  const trainOn = (data: string[], out: string): Promise<Finished> => gcrl(["train", "--config", tinyFile, "--data.limit", "null", ...data, "--out", join(tmp.dir, "cases", out)]);

  test("a folder with fewer images than one batch", async () => {
    const r = await trainOn(["--data", `folder:${join(tmp.dir, "few")}`, "--palette.k", "4"], "few");
    assertCleanError(r, "train", /folder .*few: 3 images make no complete batch of 8: lower the batch size \(train\.batchSize, --batch-size\) to at most 3, or add images$/);
  });

  test("IDX files with fewer images than one batch, via --data-dir", async () => {
    const r = await trainOn(["--data", "fashion-mnist", "--data-dir", join(tmp.dir, "idx")], "idx");
    assertCleanError(r, "train", /fashion-mnist train \(.*idx\): 3 images make no complete batch of 8/);
  });

  test("zero images", async () => {
    assertCleanError(await trainOn(["--data", `folder:${join(tmp.dir, "empty")}`], "empty"), "train", /empty: empty folder, no images$/);
  });

  test("an RGB folder with fewer distinct colours than K", async () => {
    const r = await trainOn(["--data", `folder:${join(tmp.dir, "rgb2")}`], "rgb2");
    assertCleanError(r, "train", /palette\.k: the training images have only 2 distinct colours .* fewer than the K = 512 colours asked for; set --palette\.k 2 or lower$/);
  });

  test("a folder of mixed sizes: the advice is one gcrl accepts (no --size option)", async () => {
    const r = await trainOn(["--data", `folder:${join(tmp.dir, "mixed")}`], "mixed");
    assertCleanError(r, "train", /mixed: images of different sizes: .*a\.png is 8×8 and .*b\.png is 9×8 \(width×height\); resize them to one size first/);
    assert.doesNotMatch(r.stderr, /--size/);
  });
});

describe("the environment: full disk, no CUDA, an --out that cannot be created", { concurrency: 2 }, () => {
  test("ENOSPC on train.log (a link to /dev/full) when resuming", async () => {
    const dir = runCopy("enospc-log", (d) => {
      unlinkSync(join(d, RUN_FILES.log));
      symlinkSync("/dev/full", join(d, RUN_FILES.log));
    });
    assertCleanError(await gcrl(["train", "--resume", dir, "--steps", "3"]), "train", /train\.log: cannot write: no space left on device \(free some space, or write somewhere else\)$/, false);
  });

  test("the metrics writer names its file on ENOSPC", () => {
    assert.throws(() => appendMetrics("/dev/full", { kind: "train", step: 1 }), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.message, "/dev/full: cannot write: no space left on device (free some space, or write somewhere else)");
      return true;
    });
  });

  test("ENOSPC on metrics.jsonl (on a full 4 KiB tmpfs) when resuming", async (t) => {
    if (fullDisk === null) return t.skip("needs root to mount a 4 KiB tmpfs");
    const dir = runCopy("enospc-metrics", (d) => {
      // metrics.jsonl exactly one page long (a long but valid first record), so the next append needs a page the disk does not have.
      const path = join(d, RUN_FILES.metrics);
      const text = readFileSync(path, "utf8");
      const filler = { kind: "train", step: 1, note: "" };
      filler.note = "x".repeat(4096 - text.length - JSON.stringify(filler).length - 1);
      writeFileSync(join(fullDisk!, RUN_FILES.metrics), `${JSON.stringify(filler)}\n${text}`);
      unlinkSync(path);
      symlinkSync(join(fullDisk!, RUN_FILES.metrics), path);
    });
    assertCleanError(await gcrl(["train", "--resume", dir, "--steps", "3"]), "train", /metrics\.jsonl: cannot write: no space left on device/, false);
  });

  test("ENOSPC while eval writes its figures (the run's eval/ on a full 4 KiB tmpfs)", async (t) => {
    if (fullDisk === null) return t.skip("needs root to mount a 4 KiB tmpfs");
    const figures = join(fullDisk, "eval");
    mkdirSync(figures);
    const dir = runCopy("enospc-eval", (d) => symlinkSync(figures, join(d, "eval")));
    const r = await gcrl(["eval", "likelihood", "--run", dir, "--test-images", "8", "--nll-train-images", "8"]);
    assertCleanError(r, "eval likelihood", /eval\/bits-per-dim\.png: cannot write: no space left on device/, false);
  });

  test("--device cuda on a CPU-only build: refused before anything is written", async (t) => {
    if (cudaAvailable()) return t.skip("this libtorch has CUDA");
    const out = join(tmp.dir, "cases", "cuda");
    const message = /--device cuda: device 'cuda' requested but CUDA is not available: this libtorch build is CPU-only/;
    assertCleanError(await gcrl(["train", "--config", tinyFile, "--device", "cuda", "--out", out]), "train", message);
    assert.throws(() => readFileSync(join(out, RUN_FILES.config)), /ENOENT/);
    assertCleanError(await gcrl(["sample", "--run", runDir, "--device", "cuda", "--out", join(tmp.dir, "cuda.png")]), "sample", message);
    assert.ok(!existsSync(join(tmp.dir, "cuda.png")));
  });

  test("--device cuda on a CPU-only build: gcrl eval (every subcommand) and gcrl study refuse it before anything is written", async (t) => {
    if (cudaAvailable()) return t.skip("this libtorch has CUDA");
    const message = /--device cuda: device 'cuda' requested but CUDA is not available: this libtorch build is CPU-only/;
    const dir = runCopy("cuda-eval");
    for (const sub of ["all", "probe", "knn", "likelihood", "fid", "ood"]) {
      assertCleanError(await gcrl(["eval", sub, "--run", dir, "--device", "cuda", "--train-images", "16", "--test-images", "8"]), `eval ${sub}`, message);
    }
    for (const written of ["eval.json", "report.md", "eval", "cache"]) assert.ok(!existsSync(join(dir, written)), `${written} was written`);
    const study = join(tmp.dir, "cases", "cuda-study");
    assertCleanError(await gcrl(["study", "--out", study, "--steps", "1", "--device", "cuda"]), "study", message);
    assert.ok(!existsSync(study), "the study folder was made");
  });

  test("an --out that cannot be created", async () => {
    assertCleanError(await gcrl(["train", "--config", tinyFile, "--out", "/dev/null/run"]), "train", /^gcrl train: \/dev\/null\/run: cannot create the folder: a part of the path is not a folder$/);
    assertCleanError(await gcrl(["sample", "--run", runDir, "--n", "1", "--out", "/dev/null/x/s.png"]), "sample", /\/dev\/null\/x: cannot create the folder: a part of the path is not a folder$/);
  });
});
