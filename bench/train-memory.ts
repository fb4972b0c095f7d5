// Calibration of the memory guard (src/train/memory-estimate.ts): the peak RSS of real training
// runs, each in a fresh process (train() into a temporary folder: data, palette, 2 steps, the final
// evaluation and checkpoint), next to the estimate for the same config.
//
//   node --import tsx bench/train-memory.ts              every size in SIZES, one table
//   node --import tsx bench/train-memory.ts --one JSON   one run of BASE + JSON's overrides: prints
//                                                        { maxRssBytes, estimate } as one JSON line
//
// Peak RSS: process.resourceUsage().maxRSS (the kernel's high-water mark, VmHWM) at the end of the
// run. test/train/memory-estimate.test.ts measures two small sizes the same way (measureFresh).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolveRunConfig } from "../src/train/run-config-validate.ts";
import { memoryInput, registeredDataSizes } from "../src/train/memory-guard.ts";
import { ACTIVATION_FACTOR, BASE_BYTES, estimateTrainingMemory, type MemoryEstimate } from "../src/train/memory-estimate.ts";
import { formatBytes } from "../src/train/available-memory.ts";

/** The runs' common settings: 512 Fashion-MNIST images, 64 eval images (and kNN neighbours), 2 steps. */
const BASE = {
  data: { name: "fashion-mnist", limit: 512, evalImages: 64 },
  palette: { samplePixels: 20000 },
  optim: { warmupSteps: 1 },
  budget: { steps: 2, epochs: null, minutes: null },
  train: { evalEvery: 0, checkpointEvery: 1000, logEvery: 1 },
};
const KNN_IMAGES = 64;

/** The calibration sizes: the demo model, twice its width, the reference model, a dense model, igpt, dropout. */
export const SIZES: Record<string, Overrides> = {
  "demo d=32 2+1 b=32": { model: { d: 32, heads: 4, encoderLayers: 2, decoderLayers: 1 }, train: { batchSize: 32 } },
  "d=64 2+1 b=32": { model: { d: 64, heads: 4, encoderLayers: 2, decoderLayers: 1 }, train: { batchSize: 32 } },
  "reference d=128 4+2 b=32": { model: { d: 128, heads: 4, encoderLayers: 4, decoderLayers: 2 }, train: { batchSize: 32 } },
  "dense d=32 1+1 b=16": { model: { d: 32, heads: 4, encoderLayers: 1, decoderLayers: 1, attention: "dense" }, train: { batchSize: 16 } },
  "igpt d=64 2+1 b=32": { model: { d: 64, heads: 4, encoderLayers: 2, decoderLayers: 1 }, objective: { mode: "igpt" }, train: { batchSize: 32 } },
  "dropout 0.1 d=64 2+1 b=32": { model: { d: 64, heads: 4, encoderLayers: 2, decoderLayers: 1, dropout: 0.1 }, train: { batchSize: 32 } },
  "dropout 0.1 d=512 1+1 b=4": { model: { d: 512, heads: 8, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 }, train: { batchSize: 4 } },
};

/** Config overrides by section (the form of a config file). */
export type Overrides = Record<string, Record<string, unknown>>;

export interface Measurement {
  maxRssBytes: number;
  estimate: MemoryEstimate;
}

/** BASE with `overrides` section by section, resolved. */
function configOf(overrides: Overrides): ReturnType<typeof resolveRunConfig> {
  const merged: Overrides = structuredClone(BASE);
  for (const [section, values] of Object.entries(overrides)) merged[section] = { ...merged[section], ...values };
  return resolveRunConfig(merged, "bench/train-memory.ts");
}

/** The estimate of the memory guard for BASE + overrides. */
export function estimateFor(overrides: Overrides): MemoryEstimate {
  const config = configOf(overrides);
  return estimateTrainingMemory(memoryInput(config, registeredDataSizes(config, KNN_IMAGES)!));
}

/** One run of BASE + overrides in this process; its peak RSS and the estimate. */
async function measureHere(overrides: Overrides): Promise<Measurement> {
  const { train } = await import("../src/train/trainer.ts");
  const out = mkdtempSync(join(tmpdir(), "gcrl-train-memory-"));
  try {
    await train(configOf(overrides), { out: join(out, "run"), log: null, knnTrainImages: KNN_IMAGES, force: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { maxRssBytes: process.resourceUsage().maxRSS * 1024, estimate: estimateFor(overrides) };
}

/** One run of BASE + overrides in a fresh node process (`--one`). */
export function measureFresh(overrides: Overrides): Promise<Measurement> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", script, "--one", JSON.stringify(overrides)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`bench/train-memory.ts --one exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Measurement);
    });
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === "--one") {
    console.log(JSON.stringify(await measureHere(JSON.parse(process.argv[3]!) as Overrides)));
    return;
  }
  console.log("size | parameters | estimate (activations) | measured peak RSS | estimate / measured");
  const rows: Measurement[] = [];
  for (const [name, overrides] of Object.entries(SIZES)) {
    const m = await measureFresh(overrides);
    const e = m.estimate;
    rows.push(m);
    console.log(`${name} | ${e.parameters} | ${formatBytes(e.total)} (${formatBytes(e.activations)}) | ${formatBytes(m.maxRssBytes)} | ${(e.total / m.maxRssBytes).toFixed(2)}`);
  }
  const fit = fitBaseAndFactor(rows.filter((_, i) => !Object.keys(SIZES)[i]!.startsWith("dropout"))); // dropout has its own fitted term
  console.log(`least-squares fit of measured = base + factor · activations + the rest: base ${formatBytes(fit.base)} (BASE_BYTES ${formatBytes(BASE_BYTES)}), factor ${fit.factor.toFixed(3)} (ACTIVATION_FACTOR ${ACTIVATION_FACTOR})`);
}

/**
 * BASE_BYTES and ACTIVATION_FACTOR that fit the measurements best: a straight line through
 * (activations before the factor, measured minus data and parameters).
 */
function fitBaseAndFactor(rows: Measurement[]): { base: number; factor: number } {
  const points = rows.map(({ estimate: e, maxRssBytes }) => ({ x: e.activations / ACTIVATION_FACTOR, y: maxRssBytes - e.data - e.model - e.optimizer }));
  const mean = (f: (p: { x: number; y: number }) => number): number => points.reduce((s, p) => s + f(p), 0) / points.length;
  const mx = mean((p) => p.x);
  const my = mean((p) => p.y);
  const factor = mean((p) => (p.x - mx) * (p.y - my)) / mean((p) => (p.x - mx) ** 2);
  return { base: my - factor * mx, factor };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
