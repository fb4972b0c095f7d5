// The memory guard's estimate (src/train/memory-estimate.ts): the parameter count equals the built
// model's, the estimate is within ±30% of the peak RSS of real training runs in fresh processes
// (bench/train-memory.ts's measureFresh: data, palette, 2 steps, evaluation, checkpoint), and the
// largest batch that fits is the largest whose estimate fits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GCRLModel, type ModelConfig } from "../../src/model/index.ts";
import { MODEL_DEFAULTS } from "../../src/model/config.ts";
import { countParameters, estimateTrainingMemory, largestBatchThatFits, type MemoryEstimateInput } from "../../src/train/memory-estimate.ts";
import { formatBytes } from "../../src/train/available-memory.ts";
import { measureFresh } from "../../bench/train-memory.ts";

test("countParameters equals GCRLModel's parameter count (axial and dense, odd sizes)", () => {
  const configs: ModelConfig[] = [
    { ...MODEL_DEFAULTS, height: 5, width: 7, vocabSize: 11, d: 12, heads: 3, encoderLayers: 2, decoderLayers: 1, mlpRatio: 2.5, projectionDim: 9 },
    { ...MODEL_DEFAULTS, height: 4, width: 3, vocabSize: 16, d: 8, heads: 2, encoderLayers: 1, decoderLayers: 2, attention: "dense" },
  ];
  for (const c of configs) {
    const model = new GCRLModel(c);
    try {
      assert.equal(countParameters(c), model.parameterCount(), JSON.stringify(c));
    } finally {
      model.dispose();
    }
  }
});

test("the estimate is within ±30% of the measured peak RSS (two small sizes, fresh processes)", async () => {
  const sizes = {
    "d=16 1+1 batch 8": { model: { d: 16, heads: 2, encoderLayers: 1, decoderLayers: 1, projectionDim: 16 }, train: { batchSize: 8, threads: 1 } },
    "d=32 1+1 batch 32": { model: { d: 32, heads: 4, encoderLayers: 1, decoderLayers: 1 }, train: { batchSize: 32, threads: 1 } },
  };
  for (const [name, overrides] of Object.entries(sizes)) {
    const m = await measureFresh(overrides);
    const ratio = m.estimate.total / m.maxRssBytes;
    assert.ok(ratio > 0.7 && ratio < 1.3, `${name}: estimate ${formatBytes(m.estimate.total)}, measured ${formatBytes(m.maxRssBytes)} (ratio ${ratio.toFixed(2)})`);
  }
});

test("activations grow with the batch; largestBatchThatFits is the largest batch whose estimate fits", () => {
  const input: MemoryEstimateInput = {
    model: { ...MODEL_DEFAULTS, height: 28, width: 28, vocabSize: 16 }, channels: 1, mode: "gcrl", batchSize: 256,
    precision: "fp32", trainImages: 60000, evalImages: 1000, knnImages: 5000,
  };
  const at = (batchSize: number): number => estimateTrainingMemory({ ...input, batchSize }).total;
  assert.ok(Math.abs(at(64) - 2 * at(32) + at(0)) < 1, "linear in the batch size");
  const budget = at(20) + 1;
  assert.equal(largestBatchThatFits(input, budget), 20);
  assert.equal(largestBatchThatFits({ ...input, batchSize: 8 }, budget), 8, "never more than the run's batch");
  assert.equal(largestBatchThatFits(input, at(1) + 1), 0, "gcrl needs 2 images");
  assert.equal(largestBatchThatFits({ ...input, mode: "igpt" }, estimateTrainingMemory({ ...input, mode: "igpt", batchSize: 1 }).total + 1), 1);
  assert.ok(estimateTrainingMemory({ ...input, mode: "igpt" }).activations < estimateTrainingMemory(input).activations, "igpt encodes one view");
  assert.ok(estimateTrainingMemory({ ...input, model: { ...input.model, dropout: 0.1 } }).activations > estimateTrainingMemory(input).activations, "unfused attention keeps more");
});
