// The memory guard (src/train/memory-guard.ts) through `gcrl train` (real processes, the available
// memory pinned with GCRL_MEMORY_LIMIT so the outcome does not depend on the machine): the runs of
// issue 13 (--model.encoderLayers 10000, --model.d 8192) are refused at once with exit 2, the
// estimate and what to change, before the run folder is made; an oversized batch gets a batch size
// that fits; --force trains anyway. And checkTrainingMemory's verdicts directly.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkTrainingMemory, memoryInput, registeredDataSizes, MemoryGuardError } from "../../src/train/memory-guard.ts";
import { estimateTrainingMemory } from "../../src/train/memory-estimate.ts";
import { parseByteSize } from "../../src/train/available-memory.ts";
import { RUN_DEFAULTS } from "../../src/train/run-config.ts";
import { RUN_FILES } from "../../src/train/run-folder.ts";
import { TINY_OVERRIDES, tempFolder, tinyConfig } from "./trainer-fixtures.ts";

const tmp = tempFolder("memory-guard");
after(() => tmp.cleanup());
const tinyFile = join(tmp.dir, "tiny.json");
writeFileSync(tinyFile, JSON.stringify(TINY_OVERRIDES));

function gcrl(args: string[], memoryLimit: string): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ["bin/gcrl.js", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GCRL_MEMORY_LIMIT: memoryLimit } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 })));
}

test("--model.encoderLayers 10000 and --model.d 8192 are refused at once: exit 2, the estimate, no batch size fits, nothing written", async () => {
  for (const flags of [["--model.encoderLayers", "10000"], ["--model.d", "8192"]]) {
    const out = join(tmp.dir, `never-${flags[1]}`);
    const r = await gcrl(["train", "--data", "fashion-mnist", "--out", out, ...flags], "16G");
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^gcrl train: not enough memory: training needs about [\d.]+ (GiB|TiB) \(\d+M parameters: [\d.]+ GiB of weights and gradients and [\d.]+ GiB of AdamW moments; activations of one step at batch 32: /);
    assert.match(r.stderr, /but 16\.0 GiB is available \(GCRL_MEMORY_LIMIT\)\. No batch size fits, not even 2 images: make the model smaller \(model\.d, model\.encoderLayers, .*or pass --force to train anyway\.\n$/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line, no stack trace");
    assert.equal(existsSync(out), false, "nothing written");
    assert.ok(r.seconds < 20, `refused after ${r.seconds} s`);
  }
});

test("an oversized batch: the refusal names a batch size that fits", async () => {
  const r = await gcrl(["train", "--data", "fashion-mnist", "--out", join(tmp.dir, "never-batch"), "--train.batchSize", "4096"], "4G");
  assert.equal(r.code, 2, r.stderr);
  const m = /Lower the batch size: --train\.batchSize (\d+) \(about ([\d.]+) GiB\), or pass --force/.exec(r.stderr);
  assert.ok(m !== null, r.stderr);
  const batch = Number(m[1]);
  assert.ok(batch >= 2 && batch < 4096, `suggested ${batch}`);
  assert.ok(Number(m[2]) <= 4 * 0.9 + 0.5, `about ${m[2]} GiB at the suggestion`);
});

test("--force trains a run the guard refuses; the log says so", async () => {
  const out = join(tmp.dir, "forced");
  const refused = await gcrl(["train", "--config", tinyFile, "--out", out, "--steps", "1"], "1M");
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /not enough memory: .* but 1\.0 MiB is available/);
  const forced = await gcrl(["train", "--config", tinyFile, "--out", out, "--steps", "1", "--force"], "1M");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /memory: about [\d.]+ MiB estimated .*1\.0 MiB available \(GCRL_MEMORY_LIMIT\); more than available: training anyway \(--force\)/);
  assert.match(readFileSync(join(out, RUN_FILES.log), "utf8"), /training anyway \(--force\)/);
});

test("checkTrainingMemory: fits, refused with the largest batch that fits, or let through by force", () => {
  const config = tinyConfig((c) => (c.train.batchSize = 64));
  const input = memoryInput(config, registeredDataSizes(config, 5000)!);
  const total = estimateTrainingMemory(input).total;
  const available = (bytes: number) => ({ bytes, source: "test" });
  assert.equal(checkTrainingMemory(input, { available: available(total), heldBytes: 0 }).fits, true);
  assert.equal(checkTrainingMemory(input, { available: available(total / 2), heldBytes: total / 2 }).fits, true, "what the process holds counts as room");
  const tight = estimateTrainingMemory({ ...input, batchSize: 16 }).total / 0.9 + 1;
  assert.throws(() => checkTrainingMemory(input, { available: available(tight), heldBytes: 0 }), (err: unknown) => {
    assert.ok(err instanceof MemoryGuardError);
    assert.equal(err.suggestedBatchSize, 16);
    assert.match(err.message, /^not enough memory: training needs about .* --train\.batchSize 16 /);
    return true;
  });
  assert.equal(checkTrainingMemory(input, { available: available(0), heldBytes: 0, force: true }).fits, false);
  assert.equal(registeredDataSizes({ ...RUN_DEFAULTS, data: { ...RUN_DEFAULTS.data, name: "folder:/nowhere" } }, 5000), null, "folders: sizes known once loaded");
  assert.equal(parseByteSize("16G"), 16 * 1024 ** 3);
});
