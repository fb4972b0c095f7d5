// A bf16 run (train.precision "bf16") trains, evaluates and samples in bf16 with no process-wide
// setting (issue 16, item 2): the trainer builds the model with the run's compute options and
// loadRun rebuilds it with the same, so the loaded model reports bf16 in every module, its
// representations differ from the same weights' in fp32 by a bf16-sized amount, and its samples
// differ from fp32's at the same seed; a model used in between in fp32 leaves it unchanged, and
// nothing is left set for models built afterwards. Tiny run on real Fashion-MNIST
// (test/train/trainer-fixtures.ts); emulated bf16 is kept on CPUs without it (GCRL_FORCE_BF16).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_COMPUTE, manualSeed, randint, tidy, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/gcrl-model.ts";
import { train } from "../../src/train/trainer.ts";
import { loadRun, type LoadedRun } from "../../src/train/load-run.ts";
import { sampleTokens } from "../../src/eval/sampling.ts";
import { tempFolder, tinyConfig } from "./trainer-fixtures.ts";

const folder = tempFolder("bf16-run");
const log: string[] = [];
let bf16: LoadedRun;
let fp32: LoadedRun;
const forced = process.env.GCRL_FORCE_BF16;

before(async () => {
  process.env.GCRL_FORCE_BF16 = "1"; // emulated bf16 where the CPU has none: this is a test of the path, not of speed
  const config = tinyConfig((c) => {
    c.train.precision = "bf16";
    c.budget.steps = 4;
    c.train.checkpointEvery = 4;
    c.train.evalEvery = 4; // the in-run evaluation uses the run's (bf16) model
  });
  await train(config, { out: folder.dir, log: (line) => log.push(line) });
  bf16 = loadRun(folder.dir);
  fp32 = loadRun(folder.dir, { compute: { precision: "fp32" } });
});

after(() => {
  bf16?.model.dispose();
  bf16?.palette.dispose();
  fp32?.model.dispose();
  fp32?.palette.dispose();
  folder.cleanup();
  if (forced === undefined) delete process.env.GCRL_FORCE_BF16;
  else process.env.GCRL_FORCE_BF16 = forced;
});

/** max |a − b| / max |b|. */
function relDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-30));
}

test("the run trained in bf16, and loadRun builds its model in bf16 (every module)", () => {
  assert.match(log.join("\n"), /bf16 mixed precision/);
  assert.equal(bf16.config.train.precision, "bf16");
  assert.deepEqual({ ...bf16.model.compute }, { precision: "bf16", kernels: "fast" });
  for (const [name, m] of bf16.model.namedModules()) assert.equal(m.compute.precision, "bf16", `module "${name}"`);
  assert.equal(fp32.model.compute.precision, "fp32", "loadRun's compute option overrides the run's");
  // Nothing process-wide was left set: a model built now computes in fp32 on the fast kernels.
  const fresh = new GCRLModel(bf16.modelConfig);
  assert.equal(fresh.compute, DEFAULT_COMPUTE);
  fresh.dispose();
});

test("evaluation: the loaded bf16 model's r(x) differs from fp32's by a bf16-sized amount, whichever model ran in between", () => {
  tidy(() => {
    manualSeed(3);
    const { height, width, vocabSize } = bf16.modelConfig;
    const tokens = randint(0, vocabSize, [4, height, width]);
    const r16 = bf16.model.encode(tokens).representation;
    const r32 = fp32.model.encode(tokens).representation;
    const again = bf16.model.encode(tokens).representation;
    assert.equal(relDiff(again, r16), 0, "the same bf16 output after an fp32 pass");
    const d = relDiff(r16, r32);
    assert.ok(d > 1e-4 && d < 5e-2, `bf16 vs fp32 r(x): relative difference ${d}`);
  });
});

test("sampling: the bf16 model's samples differ from fp32's at the same seed and repeat exactly", () => {
  tidy(() => {
    const s16 = sampleTokens(bf16.model, 8, { seed: 5 });
    const s32 = sampleTokens(fp32.model, 8, { seed: 5 });
    const again = sampleTokens(bf16.model, 8, { seed: 5 });
    assert.deepEqual(again.toArray(), s16.toArray(), "the same bf16 samples after an fp32 sampling");
    assert.ok(s16.ne(s32).sum().item() > 0, "bf16 and fp32 samples differ somewhere");
  });
});
