// Training does not leak: 5,000 AdamW steps of a small MLP, each inside tidy(), keep both the
// number of live tensors and the resident memory flat (RSS growth < 10% from step 500 to the end).
//
// The loop yields to the event loop every YIELD_EVERY steps, as a real trainer does (progress,
// data loading). It must: Node runs N-API finalizers from the event loop, so a loop that never
// yields keeps every handle's native box (~300 bytes per tensor ever created, even disposed ones)
// until it does, and RSS climbs by ~15 KB per step here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { setImmediate as nextTurn } from "node:timers/promises";
import { runInNewContext } from "node:vm";
import { tidy, manualSeed, randn, mseLoss, Tensor, keep, setNumThreads } from "../../src/torch/index.ts";
import { Module, Linear, LayerNorm } from "../../src/torch/nn/index.ts";
import { AdamW, clipGradNorm, weightDecayGroups } from "../../src/torch/optim/index.ts";
import { countLiveTensors, liveTensorCount } from "../helpers/live-tensors.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Linear → LayerNorm → GELU → Linear: (B, 32) -> (B, 8). */
class Mlp extends Module {
  readonly fc1 = this.child("fc1", new Linear(32, 64));
  readonly ln = this.child("ln", new LayerNorm(64));
  readonly fc2 = this.child("fc2", new Linear(64, 8));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.ln.forward(this.fc1.forward(x)).gelu());
  }
}

const STEPS = 5000;
const WARMUP = 500;
const YIELD_EVERY = 100;

// One thread: this model is too small to gain from more, and OpenMP threads spinning on a busy
// 2-core machine can slow each step 20-fold.
setNumThreads(1);

test(`${STEPS} training steps keep live tensors and RSS flat`, async (t) => {
  countLiveTensors();
  manualSeed(0);
  const model = new Mlp();
  const x = keep(randn([64, 32]));
  const y = keep(randn([64, 8]));
  const opt = new AdamW(weightDecayGroups(model, 0.1), { lr: 1e-3 });
  const losses: number[] = [];
  let liveAtWarmup = 0;
  let rssAtWarmup = 0;
  const started = Date.now();
  for (let step = 1; step <= STEPS; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = mseLoss(model.forward(x), y);
      l.backward();
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      return l.item();
    });
    if (step === 1 || step === STEPS) losses.push(loss);
    if (step % YIELD_EVERY === 0) await nextTurn();
    if (step === WARMUP) {
      gc();
      await nextTurn(); // let the finalizers of the collected handles run
      liveAtWarmup = liveTensorCount();
      rssAtWarmup = process.memoryUsage().rss;
    }
  }
  gc();
  await nextTurn();
  const liveAtEnd = liveTensorCount();
  const rssAtEnd = process.memoryUsage().rss;
  const growth = (rssAtEnd - rssAtWarmup) / rssAtWarmup;
  t.diagnostic(`${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; loss ${losses[0]!.toFixed(4)} -> ${losses[1]!.toFixed(4)}`);
  t.diagnostic(`live tensors: ${liveAtWarmup} at step ${WARMUP}, ${liveAtEnd} at the end`);
  t.diagnostic(`RSS: ${(rssAtWarmup / 2 ** 20).toFixed(1)} MiB at step ${WARMUP}, ${(rssAtEnd / 2 ** 20).toFixed(1)} MiB at the end (${(growth * 100).toFixed(2)}%)`);

  assert.ok(losses[1]! < losses[0]! * 0.5, `the model trains: loss ${losses[0]} -> ${losses[1]}`);
  // Parameters (6), their AdamW state (12), x and y: nothing else outlives a step.
  assert.equal(liveAtEnd, liveAtWarmup, "live tensors grew");
  assert.equal(liveAtEnd, 6 + 12 + 2);
  assert.ok(growth < 0.1, `RSS grew by ${(growth * 100).toFixed(1)}%`);

  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
  assert.equal(liveTensorCount(), 0, "everything is freed at the end");
});
