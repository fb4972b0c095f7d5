// `gcrl demo` (what `npm run demo` runs after set-up).
//
// The GCRL model, data path and evaluation arrive in later issues. Until then the demo exercises
// the engine end to end with a small REAL training run on RANDOM data, and says so: a two-layer
// MLP (LayerNorm + GELU) learns the labels of a fixed random "teacher" network, with AdamW,
// warm-up + cosine learning rate and gradient clipping. It saves the weights as safetensors,
// reloads them into a fresh model and checks that the accuracy is identical.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  Tensor, Module, Linear, LayerNorm, AdamW, warmupCosine, clipGradNorm, weightDecayGroups,
  randn, manualSeed, tidy, noGrad, crossEntropy, saveSafetensors, loadSafetensors, getNumThreads, buildInfo,
} from "../torch/index.ts";

class TinyMlp extends Module {
  readonly fc1: Linear;
  readonly norm: LayerNorm;
  readonly fc2: Linear;
  constructor(inputs: number, hidden: number, classes: number) {
    super();
    this.fc1 = this.child("fc1", new Linear(inputs, hidden));
    this.norm = this.child("norm", new LayerNorm([hidden]));
    this.fc2 = this.child("fc2", new Linear(hidden, classes));
  }
  forward(x: Tensor): Tensor {
    // x (N, inputs) -> logits (N, classes)
    return this.fc2.forward(this.norm.forward(this.fc1.forward(x)).gelu());
  }
}

const USAGE = `Usage: gcrl demo [--steps N] [--out DIR]

Until the GCRL model lands, trains a tiny MLP on random data (a real training run through
libtorch, not the GCRL method) and checks a safetensors save/load round trip.

Options:
  --steps N   training steps (default 600)
  --out DIR   where to write the weights (default runs/demo-engine)`;

function parseArgs(argv: string[]): { steps: number; out: string } | null {
  let steps = 600;
  let out = join("runs", "demo-engine");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return null;
    const value = argv[i + 1];
    if (a === "--steps") {
      steps = Number(value);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got ${value}`);
      i++;
    } else if (a === "--out") {
      if (value === undefined) throw new Error("--out: expected a directory");
      out = value;
      i++;
    } else {
      throw new Error(`unknown option '${a}'\n\n${USAGE}`);
    }
  }
  return { steps, out };
}

function accuracy(model: TinyMlp, x: Tensor, y: Tensor): number {
  return noGrad(() => tidy(() => model.forward(x).argmax(1).eq(y).float().mean().item()));
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  console.log("gcrl demo: the GCRL model is not implemented yet; this trains a tiny MLP on RANDOM data");
  console.log(`  (libtorch ${buildInfo().version}, ${getNumThreads()} threads)`);
  manualSeed(0);
  const [inputs, hidden, classes, n] = [32, 64, 4, 2048];
  // A fixed random teacher defines learnable labels for random inputs.
  const { x, y, xTest, yTest } = tidy(() => {
    const teacher = randn([inputs, classes]);
    const x = randn([n, inputs]);
    const xTest = randn([512, inputs]);
    return { x, y: x.matmul(teacher).argmax(1), xTest, yTest: xTest.matmul(teacher).argmax(1) };
  });
  const model = new TinyMlp(inputs, hidden, classes);
  console.log(`  model: ${model.numParameters()} parameters; data: ${n} train / 512 test random vectors, ${classes} classes`);
  const optimizer = new AdamW(weightDecayGroups(model, 0.01), { lr: 3e-3 });
  const lrAt = warmupCosine({ baseLr: 3e-3, warmupSteps: 50, totalSteps: args.steps });
  const batch = 128;
  const t0 = performance.now();
  for (let step = 0; step < args.steps; step++) {
    optimizer.setLr(lrAt(step));
    const loss = tidy(() => {
      const start = (step * batch) % n;
      const xb = x.narrow(0, start, batch);
      const yb = y.narrow(0, start, batch);
      optimizer.zeroGrad();
      const l = crossEntropy(model.forward(xb), yb);
      l.backward();
      clipGradNorm(model.parameters(), 1.0);
      optimizer.step();
      return l.item();
    });
    if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${step}`);
    if (step % 100 === 0 || step === args.steps - 1) {
      const rate = ((step + 1) * batch) / ((performance.now() - t0) / 1000);
      console.log(`  step ${String(step + 1).padStart(5)}/${args.steps}  loss ${loss.toFixed(4)}  lr ${lrAt(step).toExponential(2)}  ${rate.toFixed(0)} samples/s`);
      await new Promise((r) => setImmediate(r)); // let the event loop breathe (signals, output)
    }
  }
  const trainAcc = accuracy(model, x, y);
  const testAcc = accuracy(model, xTest, yTest);
  mkdirSync(args.out, { recursive: true });
  const path = join(args.out, "model.safetensors");
  saveSafetensors(path, model.stateDict(), { demo: "tiny MLP on random data", steps: String(args.steps) });
  const reloaded = new TinyMlp(inputs, hidden, classes);
  const { tensors } = loadSafetensors(path);
  reloaded.loadStateDict(tensors);
  const reloadedAcc = accuracy(reloaded, xTest, yTest);
  console.log(`  accuracy: train ${(100 * trainAcc).toFixed(1)}%, test ${(100 * testAcc).toFixed(1)}% (chance ${(100 / classes).toFixed(0)}%)`);
  console.log(`  weights: ${path} (reloaded: test accuracy ${(100 * reloadedAcc).toFixed(1)}%, ${reloadedAcc === testAcc ? "identical" : "DIFFERENT"})`);
  return reloadedAcc === testAcc ? 0 : 1;
}
