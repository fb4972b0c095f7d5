// Training-step benchmark: full GCRL training steps of the reference model (configs/reference.json
// when it exists, else the same sizes as constants: batch 32, 28×28, K = 16, d = 128, 4 heads,
// 4 encoder + 2 decoder layers, exact GELU, mode gcrl, α = β = 1, τ = 0.1) on 2 threads, next to
// the PyTorch reference step of ../shared/bench/torch_ref.py run in the same bench run (float32,
// and its --bf16 autocast). Our step runs on the fast kernel path (native/kernels/kernels.cc: chunked
// Linear GEMMs, fused attention) and on the reference path (aten::linear, matmul/softmax attention),
// alternating step by step, so their ratio is measured side by side; and in bf16 mixed precision
// where the CPU multiplies bf16 natively. The matmul peaks measured at the start of the same run
// (float32 through OpenBLAS and through oneDNN, bf16 through oneDNN; bench/engine.ts matmulPeaks)
// give the model-FLOP utilisation (MFU), against the better float32 peak. The fast path also runs
// with every float32 GEMM forced onto OpenBLAS (as before issue 17's oneDNN route), alternating
// with the others, and the run prints the choices gcrl::linear made per GEMM shape under auto.
//
// One step = forward of both views (one encoder pass over 2B images, decoder over the weak view),
// hybrid loss, backward, AdamW step — what torch_ref.py's step() does (no gradient clipping, no
// LR schedule, no data loading: random tokens, as torch_ref.py). Model FLOPs are counted exactly
// as torch_ref.py counts them (modelFlopsPerImage below).
//
// Knobs (environment): GCRL_BENCH_TRAIN_STEPS (measured steps per round, default 2, after 2 warm-up
// steps; torch_ref.py gets the same STEPS and does its own 2 warm-up steps), GCRL_BENCH_TRAIN_ROUNDS (default 1;
// rounds alternate ours / PyTorch), GCRL_BENCH_TRAIN_BF16=0 skips the bf16 runs (ours and
// PyTorch's), =1 runs them even where the CPU lacks AVX512-BF16/AMX-BF16 (there both emulate bf16:
// PyTorch's 4 steps took > 15 minutes on an AVX2-only machine, so by default they are skipped with
// a note).
// `npm run bench -- train --profile` also times every forward operator call by name.
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { AdamW, manualSeed, randint, setNumThreads, getNumThreads, buildInfo, tidy, weightDecayGroups, bf16Supported, attentionVariant, setCpuCache, CPU_CACHE_BYTES, blasThreads, setBlasThreads, setFp32Gemm, fp32GemmReport, type Tensor, type KernelPath, type MatmulPrecision, type Fp32GemmMode } from "../src/torch/index.ts";
import { matmulPeaks, describePeaks } from "./engine.ts";
import { native } from "../src/torch/native.ts";
import { GCRLModel, type ModelConfig } from "../src/model/index.ts";
import { hybridLoss, type ObjectiveMode } from "../src/train/objectives.ts";
import { datasetInfo, defaultPaletteSize } from "../src/data/datasets/registry.ts";
import { runPythonJson, pythonTorchAvailable } from "./python.ts";
import { envInt } from "./env-int.ts";

const THREADS = 2;
// Warm-up steps before the measured ones, as torch_ref.py: the first step is far slower (first
// touches of every buffer) and the next still pays for page faults while the allocator's heap settles.
const WARMUP_STEPS = 2;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const REFERENCE_CONFIG = join(ROOT, "configs", "reference.json");
const TORCH_REF = join(ROOT, "..", "shared", "bench", "torch_ref.py");

/** What the benchmark builds and runs; `source` says where the values came from. */
export interface TrainBenchSetup {
  source: string;
  batch: number;
  model: Partial<ModelConfig> & Pick<ModelConfig, "height" | "width" | "vocabSize">;
  objective: { mode: ObjectiveMode; alpha: number; beta: number; tau: number };
  optim: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
}

/** The reference sizes of torch_ref.py's defaults (and of issue 4's configs/reference.json). */
const REFERENCE_CONSTANTS: TrainBenchSetup = {
  source: "built-in constants (torch_ref.py's defaults)",
  batch: 32,
  model: { height: 28, width: 28, vocabSize: 16, d: 128, heads: 4, encoderLayers: 4, decoderLayers: 2, geluApproximate: "none", attention: "axial" },
  objective: { mode: "gcrl", alpha: 1, beta: 1, tau: 0.1 },
  optim: { lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
};

type Json = Record<string, unknown>;
const section = (c: Json, key: string): Json => (typeof c[key] === "object" && c[key] !== null && !Array.isArray(c[key]) ? (c[key] as Json) : {});

/**
 * The benchmark setup from configs/reference.json (a RunConfig's overrides: model.*, objective.*,
 * optim.*, train.batchSize, palette.k, data.name for the image size), falling back to the constants
 * for every value the file does not give; the constants alone when the file is absent or unreadable.
 */
export function trainBenchSetup(path = REFERENCE_CONFIG): TrainBenchSetup {
  if (!existsSync(path)) return REFERENCE_CONSTANTS;
  let c: Json;
  try {
    c = JSON.parse(readFileSync(path, "utf8")) as Json;
  } catch (err) {
    return { ...REFERENCE_CONSTANTS, source: `built-in constants (${path} unreadable: ${(err as Error).message})` };
  }
  const base = REFERENCE_CONSTANTS;
  const data = section(c, "data");
  let [height, width, vocabSize] = [base.model.height, base.model.width, base.model.vocabSize];
  if (typeof data.name === "string") {
    const info = datasetInfo(data.name);
    if (info.size !== null) [height, width] = info.size;
    if (info.channels !== null) vocabSize = defaultPaletteSize(info.channels);
  }
  const k = section(c, "palette").k;
  if (typeof k === "number") vocabSize = k;
  const objective = { ...base.objective, ...(section(c, "objective") as Partial<TrainBenchSetup["objective"]>) };
  const o = section(c, "optim");
  const optim = {
    lr: typeof o.lr === "number" ? o.lr : base.optim.lr,
    betas: Array.isArray(o.betas) ? (o.betas as [number, number]) : base.optim.betas,
    eps: typeof o.eps === "number" ? o.eps : base.optim.eps,
    weightDecay: typeof o.weightDecay === "number" ? o.weightDecay : base.optim.weightDecay,
  };
  const batchSize = section(c, "train").batchSize;
  return {
    source: `${path}`,
    batch: typeof batchSize === "number" ? batchSize : base.batch,
    model: { ...base.model, ...(section(c, "model") as Partial<ModelConfig>), height, width, vocabSize },
    objective,
    optim,
  };
}

/**
 * Model FLOPs per image of one training step, counted as torch_ref.py counts them:
 * 6·T·(views·P_enc + P_dec) + views·Σ_enc att(n) + Σ_dec att(W), T = H·W tokens, att(n) = 3·4·T·n·d
 * (score and value matmuls, ×3 for forward + backward), P_enc = encoder block parameters, P_dec =
 * decoder block parameters + the output Linear; embeddings, norms outside blocks and the projection
 * head are not counted. views = 2 (weak and strong) except in igpt mode; the decoder is not counted
 * in simclr mode. For the dense layout (not in torch_ref.py) a raster block attends over n = T.
 */
export function modelFlopsPerImage(model: GCRLModel, mode: ObjectiveMode = "gcrl"): number {
  const { height: h, width: w, d } = model.config;
  const t = h * w;
  const numel = (ps: Tensor[]): number => ps.reduce((n, p) => n + p.numel, 0);
  const views = mode === "igpt" ? 1 : 2;
  const withDecoder = mode !== "simclr";
  const att = (n: number): number => 3 * 4 * t * n * d;
  const span = (axis: string): number => (axis === "row" ? w : axis === "column" ? h : t);
  const pEnc = numel(model.enc.parameters());
  const pDec = withDecoder ? numel(model.dec.parameters()) + numel(model.out.parameters()) : 0;
  let flops = 6 * t * (views * pEnc + pDec);
  for (const b of model.enc) flops += views * att(span(b.axis));
  if (withDecoder) for (const b of model.dec) flops += att(span(b.axis));
  return flops;
}

interface StepTimes {
  /** Wall seconds of the whole step. */
  wall: number;
  /** Process CPU seconds (user + system, all threads) of the whole step. */
  cpu: number;
  /** The system (kernel) part of cpu: mostly page faults of freshly mapped tensor memory. */
  sys: number;
  forward: number;
  backward: number;
  optimizer: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Forward-operator profile: wall ms and calls per ATen operator, gathered while `on`. */
export class OpProfile {
  on = false;
  readonly ms = new Map<number, number>();
  readonly calls = new Map<number, number>();
  #original: typeof native.call | null = null;
  install(): void {
    const original = native.call.bind(native);
    this.#original = native.call;
    native.call = (id, args, discard) => {
      if (!this.on) return original(id, args, discard);
      const t0 = performance.now();
      const r = original(id, args, discard);
      this.ms.set(id, (this.ms.get(id) ?? 0) + performance.now() - t0);
      this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
      return r;
    };
  }
  uninstall(): void {
    if (this.#original !== null) native.call = this.#original;
    this.#original = null;
  }
  print(steps: number): void {
    const rows = [...this.ms.entries()].sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((s, [, v]) => s + v, 0);
    const calls = [...this.calls.values()].reduce((s, v) => s + v, 0);
    console.log(`  forward + optimizer operator calls: ${(calls / steps).toFixed(0)} per step, ${(total / steps).toFixed(0)} ms per step; top operators (ms per step):`);
    for (const [id, ms] of rows.slice(0, 20)) {
      const name = native.schema(id).split("(")[0]!.replace(/^aten::/, "");
      console.log(`    ${name.padEnd(28)} ${(ms / steps).toFixed(0).padStart(6)} ms  ${(((100 * ms) / total) | 0).toString().padStart(3)}%  ${(this.calls.get(id)! / steps).toFixed(0)} calls`);
    }
  }
}

/** The model, optimizer and token batches of our side, built once; step() runs one training step. */
export function ourTrainer(setup: TrainBenchSetup): { model: GCRLModel; step: (path?: KernelPath, precision?: MatmulPrecision, cache?: boolean, blas1?: boolean, gemm?: Fp32GemmMode) => StepTimes; dispose: () => void } {
  manualSeed(0);
  const model = new GCRLModel(setup.model).train();
  const opt = new AdamW(weightDecayGroups(model, setup.optim.weightDecay), { lr: setup.optim.lr, betas: setup.optim.betas, eps: setup.optim.eps });
  const { height: h, width: w, vocabSize: k } = setup.model;
  const weak = randint(0, k, [setup.batch, h, w]);
  const strong = setup.objective.mode === "igpt" ? null : randint(0, k, [setup.batch, h, w]);
  const blas = blasThreads();
  // gcrl::linear's float32 GEMM routes as the process started (GCRL_FP32_GEMM, default "onednn").
  const gemmMode = fp32GemmReport().mode;
  const step = (path: KernelPath = "fast", precision: MatmulPrecision = "fp32", cache = path === "fast", blas1 = false, gemm: Fp32GemmMode = gemmMode): StepTimes => {
    model.setCompute({ kernels: path, precision }); // the model's own setting, kept until the next step changes it
    // The trainer runs with the caching allocator (train() wraps itself in withCpuCache); the
    // cache stays on between cached steps so they reuse each other's blocks, as training steps do.
    setCpuCache(cache ? CPU_CACHE_BYTES : 0);
    if (blas !== null) setBlasThreads(blas1 ? 1 : blas);
    setFp32Gemm(gemm);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    opt.zeroGrad();
    const [t1, t2] = tidy(() => {
      const r = hybridLoss(setup.objective, model, weak, strong);
      r.loss.item(); // the loss, as torch_ref.py's step returns it
      const f = performance.now();
      r.loss.backward();
      return [f, performance.now()];
    });
    opt.step();
    const t3 = performance.now();
    const c = process.cpuUsage(c0);
    return { wall: (t3 - t0) / 1000, cpu: (c.user + c.system) / 1e6, sys: c.system / 1e6, forward: (t1 - t0) / 1000, backward: (t2 - t1) / 1000, optimizer: (t3 - t2) / 1000 };
  };
  return {
    model,
    step,
    dispose: () => {
      if (blas !== null) setBlasThreads(blas);
      setFp32Gemm(gemmMode);
      opt.dispose();
      model.dispose();
      weak.dispose();
      strong?.dispose();
    },
  };
}

interface TorchRefResult {
  line: string;
  /** Wall seconds per measured step (its own figure, printed to the millisecond). */
  step: number;
  gflopPerImage: number;
  /** CPU seconds (process, all threads; user + system) per measured step. */
  cpu: number | null;
  /** The system part of cpu. */
  sys: number | null;
  maxRssKb: number;
}

/**
 * Runs torch_ref.py under /usr/bin/python3 with OMP_NUM_THREADS=2 and parses its line. A wrapper
 * runs the unmodified file (runpy) and adds what it does not print: the process CPU time between its
 * two perf_counter() calls (the measured loop) and the peak RSS (getrusage).
 */
/** Runs bench/train-rss.ts in a child node process (a float32 or bf16 step) → its peak RSS in KB, or why not. */
function freshProcessRss(setup: TrainBenchSetup, precision: MatmulPrecision = "fp32"): number | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), "train-rss.ts");
  const args = [...process.execArgv, script, setup.source.endsWith(".json") ? setup.source : "-", precision];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 10 * 60_000, env: process.env });
  if (r.status !== 0) return `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return (JSON.parse(line) as { maxRssKb: number }).maxRssKb;
  } catch {
    return `unreadable output '${line}'`;
  }
}

function runTorchRef(setup: TrainBenchSetup, steps: number, bf16: boolean): TorchRefResult {
  const m = setup.model;
  const args = [setup.batch, m.height, m.width, m.vocabSize, m.d, m.heads, m.encoderLayers, m.decoderLayers, steps].map(String);
  if (bf16) args.push("--bf16");
  const code = `
import os, sys, io, json, time, resource, runpy, contextlib
path = ${JSON.stringify(TORCH_REF)}
sys.argv = [path] + ${JSON.stringify(args)}
marks = []
_pc = time.perf_counter
def pc():
    if sys._getframe(1).f_code.co_filename == path: marks.append(os.times())
    return _pc()
time.perf_counter = pc
out = io.StringIO()
with contextlib.redirect_stdout(out): runpy.run_path(path, run_name="__main__")
time.perf_counter = _pc
ok = len(marks) >= 2
cpu = ((marks[1].user + marks[1].system) - (marks[0].user + marks[0].system)) / ${steps} if ok else None
sys_ = (marks[1].system - marks[0].system) / ${steps} if ok else None
print(json.dumps({"out": out.getvalue(), "cpu": cpu, "sys": sys_, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))`;
  const r = runPythonJson<{ out: string; cpu: number | null; sys: number | null; maxrss: number }>(code, { OMP_NUM_THREADS: String(THREADS) }, (bf16 ? 10 : 30) * 60_000)!;
  const line = r.out.trim().split("\n").pop() ?? "";
  const match = /step ([\d.]+)s .*\(([\d.]+) GFLOP\/img\)/.exec(line);
  if (match === null) throw new Error(`torch_ref.py: unexpected output: ${r.out}`);
  return { line, step: Number(match[1]), gflopPerImage: Number(match[2]), cpu: r.cpu, sys: r.sys, maxRssKb: r.maxrss };
}

/** The CPU's model name and the vector flags that matter here, from /proc/cpuinfo ("unknown" without it). */
function cpuModelAndFlags(): string {
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "unknown";
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown model";
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? "").split(/\s+/));
  const wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"];
  return `${model}; flags: ${wanted.filter((f) => flags.has(f)).join(" ") || "none of the vector flags"}`;
}

/** libtorch's "CPU capability usage" (the widest vector ISA its kernels use here), e.g. "AVX2". */
function cpuCapability(): string {
  return /CPU capability usage: (\S+)/.exec(buildInfo().config)?.[1] ?? "unknown";
}

/** gcrl::linear's float32 GEMM routes as chosen in this process: per GEMM shape, the route and both routes' GFLOP/s (best of three at first use). */
export function printGemmChoices(): void {
  const r = fp32GemmReport();
  if (!r.onednnAvailable) {
    console.log(`  float32 GEMM routes: OpenBLAS for every GEMM (oneDNN unavailable: ${r.onednnReason})`);
    return;
  }
  if (r.choices.length === 0) {
    console.log(`  float32 GEMM routes: none measured (mode ${r.mode}${r.mode === "auto" ? "" : ": forced, GCRL_FP32_GEMM or setFp32Gemm"})`);
    return;
  }
  console.log(`  float32 GEMM routes chosen by gcrl::linear (GFLOP/s at first use, best of 3 alternating runs; OpenBLAS row chunks vs one oneDNN dnnl_sgemm; ${r.choices[0]!.threads} threads):`);
  const names = { forward: "y = x·Wᵀ", input_grad: "dx = g·W", weight_grad: "dW = gᵀ·x" } as const;
  const order = { forward: 0, input_grad: 1, weight_grad: 2 } as const;
  const rows = [...r.choices].filter((c) => c.rows * c.in * c.out >= 1e6).sort((a, b) => b.rows - a.rows || a.in - b.in || a.out - b.out || a.blasThreads - b.blasThreads || order[a.gemm] - order[b.gemm]);
  for (const c of rows) {
    const f = 2 * c.rows * c.in * c.out / 1e9;
    console.log(`    ${`${c.rows}×${c.in}→${c.out}`.padEnd(16)} ${names[c.gemm].padEnd(10)} ${c.route.padEnd(8)}  OpenBLAS ${(f / c.openblasSeconds).toFixed(1).padStart(6)}  oneDNN ${(f / c.onednnSeconds).toFixed(1).padStart(6)} GFLOP/s${c.blasThreads === 1 ? "  (OpenBLAS on 1 thread)" : ""}`);
  }
  const small = r.choices.length - rows.length;
  if (small > 0) console.log(`    (and ${small} GEMMs under 1 M multiply-adds: ${r.choices.filter((c) => c.rows * c.in * c.out < 1e6 && c.route === "onednn").length} on oneDNN)`);
}

const gb = (kb: number): string => `${(kb / 1024 / 1024).toFixed(2)} GB`;

export function benchTrain(): void {
  const steps = envInt("GCRL_BENCH_TRAIN_STEPS", 2);
  const rounds = envInt("GCRL_BENCH_TRAIN_ROUNDS", 1);
  const bf16Env = process.env.GCRL_BENCH_TRAIN_BF16;
  const hasBf16 = bf16Supported();
  const withBf16 = bf16Env === "1" || (bf16Env !== "0" && hasBf16);
  const profile = process.argv.includes("--profile");
  const threadsBefore = getNumThreads();
  setNumThreads(THREADS);
  const setup = trainBenchSetup();
  const load = loadavg().map((l) => l.toFixed(1)).join(" ");
  console.log(`== train: one GCRL training step of the reference model, float32, ${THREADS} threads (load average ${load}) ==`);
  console.log(`CPU: ${cpuModelAndFlags()}`);
  console.log(`  libtorch kernels ${cpuCapability()}, native bf16 ${hasBf16 ? "yes" : "no (no avx512_bf16/amx_bf16 in /proc/cpuinfo)"}, gcrl::attention tiles ${attentionVariant() === "avx512" ? "AVX-512 (64-byte)" : "AVX2 (32-byte)"}`);
  console.log(`config: ${setup.source}`);
  console.log(`batch ${setup.batch}, mode ${setup.objective.mode} (α=${setup.objective.alpha}, β=${setup.objective.beta}, τ=${setup.objective.tau}), AdamW lr ${setup.optim.lr}; step = forward of both views + hybrid loss + backward + AdamW (no clipping), random tokens`);

  const ours = ourTrainer(setup);
  try {
    runSideBySide(setup, ours, steps, rounds, profile, withBf16, bf16Env);
  } finally {
    ours.dispose();
    setNumThreads(threadsBefore);
  }
}

function runSideBySide(setup: TrainBenchSetup, ours: ReturnType<typeof ourTrainer>, steps: number, rounds: number, profile: boolean, withBf16: boolean, bf16Env: string | undefined): void {
  const flopsPerImage = modelFlopsPerImage(ours.model, setup.objective.mode);
  console.log(`model: ${ours.model.describe()}; ${(flopsPerImage / 1e9).toFixed(2)} model-GFLOP per image (torch_ref.py's count)`);
  const ops = new OpProfile();
  if (profile) ops.install();

  let pythonProblem = !existsSync(TORCH_REF) ? `${TORCH_REF} not found` : !pythonTorchAvailable() ? "python3-torch not importable" : null;
  const tryTorchRef = (bf16: boolean): TorchRefResult | string => {
    try {
      return runTorchRef(setup, steps, bf16);
    } catch (err) {
      return `torch_ref.py${bf16 ? " --bf16" : ""} failed (or ran past its ${bf16 ? 10 : 30}-minute limit): ${(err as Error).message.split("\n")[0]}`;
    }
  };
  // The matmul peaks, side by side (float32 OpenBLAS and oneDNN, bf16 oneDNN where it runs natively).
  const peaks = matmulPeaks(1024, 5, 2, withBf16);
  for (const line of describePeaks(peaks, "1024³, best of 5 × 2 alternating rounds, this run")) console.log(line);
  const peak32 = peaks.best32;
  const gemmMode = fp32GemmReport().mode;
  const openblasOnly = (): StepTimes => ours.step("fast", "fp32", true, false, "openblas");
  const warmups: number[] = [];
  // The first fast steps also measure gcrl::linear's GEMM routes for every shape (under "auto").
  for (let i = 0; i < WARMUP_STEPS; i++) warmups.push(ours.step("fast").wall, openblasOnly().wall, ours.step("fast", "fp32", true, true).wall, ours.step("reference").wall);
  console.log(`  (our warm-up steps, fast / fast with OpenBLAS GEMMs only / fast with OpenBLAS on 1 thread / reference path, alternating: ${warmups.map((w) => `${w.toFixed(1)} s`).join(", ")})`);
  const fast: StepTimes[] = [];
  const fastOpenblas: StepTimes[] = [];
  const fastBlas1: StepTimes[] = [];
  const reference: StepTimes[] = [];
  const theirs: TorchRefResult[] = [];
  for (let r = 0; r < rounds; r++) {
    // Blocks of consecutive steps per variant: cached steps reuse the previous step's blocks (one
    // unmeasured step refills the cache the reference variant emptied), as in training.
    ours.step("fast");
    ops.on = profile;
    for (let s = 0; s < steps; s++) fast.push(ours.step("fast"));
    ops.on = false;
    for (let s = 0; s < steps; s++) fastOpenblas.push(openblasOnly());
    for (let s = 0; s < steps; s++) fastBlas1.push(ours.step("fast", "fp32", true, true));
    for (let s = 0; s < steps; s++) reference.push(ours.step("reference"));
    if (pythonProblem === null) {
      const t = tryTorchRef(false);
      if (typeof t === "string") pythonProblem = t;
      else theirs.push(t);
    }
  }
  ops.uninstall();
  setCpuCache(0);
  const ourRssKb = process.resourceUsage().maxRSS;

  const b = setup.batch;
  const med = (xs: StepTimes[], key: keyof StepTimes): number => median(xs.map((t) => t[key]));
  const mfu = (imgs: number, peak: number): string => `${((100 * imgs * flopsPerImage) / 1e9 / peak).toFixed(0)}% MFU`;
  const describe = (label: string, xs: StepTimes[]): number => {
    const step = med(xs, "wall");
    const imgs = b / step;
    console.log(`gcrl ${label}, median of ${xs.length} steps:`);
    console.log(`  step ${step.toFixed(2)} s  ${imgs.toFixed(2)} img/s  ${((imgs * flopsPerImage) / 1e9).toFixed(1)} model-GFLOP/s (${mfu(imgs, peak32)} of the best float32 matmul peak)   (CPU ${med(xs, "cpu").toFixed(1)} s/step, of which system ${med(xs, "sys").toFixed(1)} s)`);
    console.log(`  forward ${med(xs, "forward").toFixed(2)} s, backward ${med(xs, "backward").toFixed(2)} s, AdamW + freeing the graph ${(med(xs, "optimizer") * 1000).toFixed(0)} ms`);
    return imgs;
  };
  console.log(`best float32 matmul peak (1024³, this run): ${peak32.toFixed(1)} GFLOP/s (${peak32 === peaks.openblas ? "OpenBLAS" : "oneDNN"})`);
  const fastImgs = describe(`float32, fast path (gcrl::linear with GEMM routes "${gemmMode}", fused attention, caching allocator): what the trainer runs`, fast);
  const openblasImgs = describe("float32, fast path with every GEMM on OpenBLAS row chunks (as before the oneDNN route)", fastOpenblas);
  console.log(`ratio fast path / the same with OpenBLAS GEMMs only: ${(fastImgs / openblasImgs).toFixed(2)} (images/s, side by side); by CPU time per step ${(med(fastOpenblas, "cpu") / med(fast, "cpu")).toFixed(2)}`);
  printGemmChoices();
  const blas1Imgs = describe("float32, fast path with OpenBLAS on 1 thread (gcrl::linear's parallel chunks)", fastBlas1);
  const refImgs = describe("float32, reference path (aten::linear, matmul/softmax attention, default allocator)", reference);
  console.log(`ratio fast/reference path: ${(fastImgs / refImgs).toFixed(2)} (images/s, side by side); with OpenBLAS on 1 thread ${(blas1Imgs / refImgs).toFixed(2)}, using ${(med(reference, "cpu") / med(fastBlas1, "cpu")).toFixed(2)}× less CPU time than the reference`);
  console.log(`  peak RSS ${gb(ourRssKb)} (the whole node process: runtime, every bench section run before this one, model, activations of both paths)`);
  const fresh = freshProcessRss(setup);
  if (typeof fresh === "string") console.log(`  peak RSS of a fast step in a fresh process: not measured (${fresh})`);
  else console.log(`  peak RSS of the fast path's training step in a fresh process (bench/train-rss.ts: 1 warm-up + 2 steps, as \`gcrl train\` holds it): ${gb(fresh)}`);
  if (profile) ops.print(fast.length);

  let tImgs: number | null = null;
  if (theirs.length === 0) {
    console.log(`PyTorch reference unavailable (${pythonProblem})`);
  } else {
    const tStep = median(theirs.map((t) => t.step));
    tImgs = b / tStep;
    const cpus = theirs.map((t) => t.cpu).filter((c): c is number => c !== null);
    const tCpu = cpus.length ? median(cpus) : null;
    const syss = theirs.map((t) => t.sys).filter((c): c is number => c !== null);
    const tSys = syss.length ? median(syss) : null;
    const gf = theirs[0]!.gflopPerImage;
    console.log(`PyTorch float32 (torch_ref.py, OMP_NUM_THREADS=${THREADS}, ${steps} steps after its 2 warm-ups${theirs.length > 1 ? `, median of ${theirs.length} runs` : ""}):`);
    console.log(`  ${theirs[theirs.length - 1]!.line}`);
    console.log(`  step ${tStep.toFixed(2)} s  ${tImgs.toFixed(2)} img/s  ${(tImgs * gf).toFixed(1)} model-GFLOP/s (${mfu(tImgs, peak32)})   (CPU ${tCpu?.toFixed(1) ?? "?"} s/step, of which system ${tSys?.toFixed(1) ?? "?"} s)   peak RSS ${gb(Math.max(...theirs.map((t) => t.maxRssKb)))}`);
    if (Math.abs(gf - flopsPerImage / 1e9) > 0.01) console.log(`  warning: torch_ref.py counts ${gf} GFLOP/img, we count ${(flopsPerImage / 1e9).toFixed(2)}`);
    if (typeof fresh === "number") {
    const torchRss = Math.max(...theirs.map((t) => t.maxRssKb));
    console.log(`peak RSS of a reference training step, fresh processes: gcrl ${gb(fresh)} vs PyTorch ${gb(torchRss)} (ratio ${(fresh / torchRss).toFixed(2)}; target of issue 7: ≤ 1)`);
  }
  console.log(`ratio gcrl/PyTorch float32: fast path ${(fastImgs / tImgs).toFixed(2)}, reference path ${(refImgs / tImgs).toFixed(2)} (images/s; target of issue 7: fast ≥ 3)${tCpu !== null ? `; by CPU time per step ${(tCpu / med(fast, "cpu")).toFixed(2)} (less sensitive to other load)` : ""}`);
  }
  if (!withBf16) {
    console.log(
      bf16Env === "0"
        ? "bf16 mixed precision (ours and PyTorch's autocast): skipped (GCRL_BENCH_TRAIN_BF16=0)"
        : "bf16 mixed precision (ours and PyTorch's autocast): skipped — this CPU has no native bf16, so both would emulate it, far slower than float32 (GCRL_BENCH_TRAIN_BF16=1 runs them anyway); a run with train.precision \"bf16\" falls back to float32 here, with a warning",
    );
    return;
  }
  const peak16 = peaks.bf16!;
  const ours16: StepTimes[] = [];
  ours.step("fast", "bf16");
  for (let s = 0; s < steps; s++) ours16.push(ours.step("fast", "bf16"));
  console.log(`bfloat16 matmul peak (1024³, oneDNN, measured with the float32 peaks above): ${peak16.toFixed(1)} GFLOP/s`);
  const bf16Imgs = describe("bf16 mixed precision, fast kernels", ours16);
  console.log(`  MFU against the bf16 peak: ${mfu(bf16Imgs, peak16)}; bf16/float32 (ours): ${(bf16Imgs / fastImgs).toFixed(2)}`);
  const bf = tryTorchRef(true);
  if (typeof bf === "string") {
    console.log(`PyTorch bf16 autocast reference: ${bf}`);
    return;
  }
  const bImgs = b / bf.step;
  console.log(`PyTorch bf16 autocast (torch_ref.py --bf16):`);
  console.log(`  step ${bf.step.toFixed(2)} s  ${bImgs.toFixed(2)} img/s  ${(bImgs * bf.gflopPerImage).toFixed(1)} model-GFLOP/s   peak RSS ${gb(bf.maxRssKb)}`);
  console.log(`ratio gcrl bf16 / PyTorch bf16 autocast: ${(bf16Imgs / bImgs).toFixed(2)} (target of issue 17: ≥ 1.5 on a CPU with native bf16)${tImgs !== null ? `; gcrl float32 / PyTorch bf16: ${(fastImgs / bImgs).toFixed(2)}` : ""}`);
  const fresh16 = freshProcessRss(setup, "bf16");
  if (typeof fresh16 === "string") console.log(`peak RSS of a bf16 step in a fresh process: not measured (${fresh16})`);
  else console.log(`peak RSS of a bf16 training step, fresh processes: gcrl ${gb(fresh16)} vs PyTorch autocast ${gb(bf.maxRssKb)} (ratio ${(fresh16 / bf.maxRssKb).toFixed(2)}; target of issue 17: ≤ 1)`);
}
