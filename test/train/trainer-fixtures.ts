// Shared by the trainer tests: a tiny run on real Fashion-MNIST (d = 16, 1 + 1 layers, batch 8,
// 128 training images, 32 eval images, 1 thread), temporary folders, and byte comparison of weights.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSafetensors } from "../../src/torch/index.ts";
import { resolveRunConfig } from "../../src/train/run-config-validate.ts";
import { train } from "../../src/train/trainer.ts";
import type { RunConfig } from "../../src/train/run-config.ts";

/** Overrides of RUN_DEFAULTS (the form of a config file). */
export const TINY_OVERRIDES = {
  model: { d: 16, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 16 },
  data: { name: "fashion-mnist", limit: 128, evalImages: 32 },
  palette: { samplePixels: 20000 },
  optim: { lr: 1e-3, warmupSteps: 2 },
  budget: { steps: 12, epochs: null, minutes: null },
  train: { batchSize: 8, seed: 0, threads: 1, evalEvery: 6, checkpointEvery: 4, logEvery: 2 },
};

export function tinyConfig(patch: (c: RunConfig) => void = () => {}): RunConfig {
  const c = resolveRunConfig(structuredClone(TINY_OVERRIDES), "tiny test config");
  patch(c);
  return c;
}

/** A 2-step tiny run (no periodic evaluation or checkpoint, 8 eval images) in `dir`: the CLI tests' run folder. */
export async function trainTinyCliRun(dir: string): Promise<void> {
  await train(
    tinyConfig((c) => {
      c.budget.steps = 2;
      c.train.evalEvery = 0;
      c.train.checkpointEvery = 0;
      c.data.evalImages = 8;
    }),
    { out: dir, log: null },
  );
}

export function tempFolder(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gcrl-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Names of the tensors whose bytes differ between two safetensors files ([] = bit-identical). */
export function differingTensors(pathA: string, pathB: string): string[] {
  const a = loadSafetensors(pathA).tensors;
  const b = loadSafetensors(pathB).tensors;
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const differ = names.filter((name) => {
    const x = a.get(name);
    const y = b.get(name);
    if (x === undefined || y === undefined || x.dtype !== y.dtype || x.shape.join() !== y.shape.join()) return true;
    const bx = x.toTypedArray();
    const by = y.toTypedArray();
    return !Buffer.from(bx.buffer, bx.byteOffset, bx.byteLength).equals(Buffer.from(by.buffer, by.byteOffset, by.byteLength));
  });
  for (const t of [...a.values(), ...b.values()]) t.dispose();
  return differ;
}

/** A metrics record without its timing fields (which differ between any two runs). */
export function withoutTiming(record: Record<string, unknown>): Record<string, unknown> {
  const { imagesPerSecond: _a, elapsed: _b, seconds: _c, ...rest } = record;
  return rest;
}
