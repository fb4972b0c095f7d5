// Training-step throughput on a GPU (`npm run bench -- train-device`, or scripts/cuda-check.sh on a
// lent GPU machine): the reference model's full GCRL step (bench/train.ts's setup: forward of both
// views, hybrid loss, backward, AdamW; random tokens) with the model and the tokens on
// GCRL_BENCH_DEVICE (default "cuda"), in fp32 and in bf16 mixed precision, next to the same step of
// PyTorch's torch_ref.py on the same device, run unmodified under torch.set_default_device(DEVICE)
// with its autocast("cpu", bf16) turned into autocast("cuda", bf16).
//
// On a GPU the fast kernels (gcrl::linear, fused attention) are CPU-only, so our step runs on ATen's
// CUDA kernels (aten::linear, matmul/softmax attention), as PyTorch's does; what differs is that each
// operator is one N-API call from JS instead of one Python call. Each step ends with loss.item(),
// which waits for the GPU, as torch_ref.py's step does.
//
// Knobs: GCRL_BENCH_DEVICE ("cuda", "cuda:N"), GCRL_BENCH_DEVICE_BATCHES (comma-separated global
// batches, default "32,256"), GCRL_BENCH_TRAIN_STEPS (measured steps, default 20, after 3 warm-up
// steps), GCRL_TORCH_REF (torch_ref.py; default ../shared/bench/torch_ref.py), GCRL_PYTHON (the
// Python with PyTorch), GCRL_BENCH_JSON (also write the figures there as JSON).
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { AdamW, cudaAvailable, cudaSynchronize, manualSeed, randint, randn, tidy, weightDecayGroups, type MatmulPrecision } from "../src/torch/index.ts";
import { GCRLModel } from "../src/model/index.ts";
import { hybridLoss } from "../src/train/objectives.ts";
import { modelFlopsPerImage, trainBenchSetup, type TrainBenchSetup } from "./train.ts";
import { pythonTorchAvailable, runPythonJson } from "./python.ts";
import { envInt } from "./env-int.ts";

const WARMUP_STEPS = 3;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TORCH_REF = process.env.GCRL_TORCH_REF ?? join(ROOT, "..", "shared", "bench", "torch_ref.py");

interface Figures {
  impl: "gcrl" | "pytorch";
  precision: MatmulPrecision;
  batch: number;
  stepMs: number;
  imagesPerSecond: number;
  modelTflops: number;
  line?: string;
}

/** Best time of a dtype matmul n³ on the device, in TFLOP/s (the peak the MFU is measured against). */
function deviceMatmulPeak(device: string, dtype: "float32" | "bfloat16", n = 4096, repeats = 10): number {
  const a = randn([n, n], { device }).to(dtype);
  const b = randn([n, n], { device }).to(dtype);
  tidy(() => a.matmul(b));
  cudaSynchronize();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    tidy(() => a.matmul(b));
    cudaSynchronize();
    best = Math.min(best, performance.now() - t0);
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / (best / 1000) / 1e12;
}

/** Our step at `batch` on `device` in `precision`: median ms over `steps` measured steps. */
function ourStep(setup: TrainBenchSetup, device: string, batch: number, precision: MatmulPrecision, steps: number): { stepMs: number; flopsPerImage: number } {
  manualSeed(0);
  const model = new GCRLModel(setup.model, { precision }).toDevice(device).train();
  const opt = new AdamW(weightDecayGroups(model, setup.optim.weightDecay), { lr: setup.optim.lr, betas: setup.optim.betas, eps: setup.optim.eps });
  const { height: h, width: w, vocabSize: k } = setup.model;
  const weak = randint(0, k, [batch, h, w], { device });
  const strong = setup.objective.mode === "igpt" ? null : randint(0, k, [batch, h, w], { device });
  const step = (): number => {
    const t0 = performance.now();
    opt.zeroGrad();
    tidy(() => {
      const r = hybridLoss(setup.objective, model, weak, strong);
      r.gradientLoss.backward();
      opt.step();
      r.loss.item(); // waits for the GPU, as torch_ref.py's step() returns l.item()
    });
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < WARMUP_STEPS; i++) step();
    const times = Array.from({ length: steps }, step).sort((a, b) => a - b);
    return { stepMs: times[times.length >> 1]!, flopsPerImage: modelFlopsPerImage(model, setup.objective.mode) };
  } finally {
    opt.dispose();
    model.dispose();
    weak.dispose();
    strong?.dispose();
  }
}

/** torch_ref.py, unmodified, on `device` (default device + autocast moved there): its step time, or why not. */
function torchStep(setup: TrainBenchSetup, device: string, batch: number, precision: MatmulPrecision, steps: number): { stepMs: number; gflopPerImage: number; line: string } | string {
  if (!existsSync(TORCH_REF)) return `${TORCH_REF} not found (GCRL_TORCH_REF)`;
  if (!pythonTorchAvailable()) return "no Python with PyTorch (GCRL_PYTHON)";
  const m = setup.model;
  const args = [batch, m.height, m.width, m.vocabSize, m.d, m.heads, m.encoderLayers, m.decoderLayers, steps].map(String);
  if (precision === "bf16") args.push("--bf16");
  // On a GPU: every tensor torch_ref.py makes lands there, and its autocast("cpu") becomes the GPU's.
  const onDevice = device === "cpu" ? "" : `
torch.set_default_device(${JSON.stringify(device)})
_autocast = torch.autocast
torch.autocast = lambda device_type, *a, **k: _autocast("cuda" if device_type == "cpu" else device_type, *a, **k)`;
  const code = `
import sys, io, json, runpy, contextlib, torch
path = ${JSON.stringify(TORCH_REF)}
sys.argv = [path] + ${JSON.stringify(args)}${onDevice}
out = io.StringIO()
with contextlib.redirect_stdout(out): runpy.run_path(path, run_name="__main__")
print(json.dumps({"out": out.getvalue(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))`;
  try {
    const r = runPythonJson<{ out: string; gpu: string | null }>(code, {}, 10 * 60_000)!;
    const line = r.out.trim().split("\n").pop() ?? "";
    const match = /step ([\d.]+)s .*\(([\d.]+) GFLOP\/img\)/.exec(line);
    if (match === null) return `unexpected output: ${r.out.trim()}`;
    return { stepMs: Number(match[1]) * 1000, gflopPerImage: Number(match[2]), line: `${line} [${r.gpu ?? "no GPU"}]` };
  } catch (err) {
    return `torch_ref.py failed: ${(err as Error).message.split("\n").slice(-3).join(" ")}`;
  }
}

export function benchTrainDevice(): void {
  const device = process.env.GCRL_BENCH_DEVICE ?? "cuda";
  if (device !== "cpu" && !cudaAvailable()) {
    console.log(`== train-device: skipped (${device} requested, but this libtorch has no CUDA or sees no GPU; GCRL_BENCH_DEVICE=cpu times the CPU) ==`);
    return;
  }
  const batches = (process.env.GCRL_BENCH_DEVICE_BATCHES ?? "32,256").split(",").map((b) => Number(b.trim()));
  if (batches.some((b) => !Number.isInteger(b) || b < 2)) throw new RangeError(`GCRL_BENCH_DEVICE_BATCHES: expected comma-separated integers >= 2, got '${process.env.GCRL_BENCH_DEVICE_BATCHES}'`);
  const steps = envInt("GCRL_BENCH_TRAIN_STEPS", 20);
  const setup = trainBenchSetup();
  console.log(`== train-device: one GCRL training step of the reference model on ${device} (median of ${steps} steps after ${WARMUP_STEPS} warm-up) ==`);
  console.log(`config: ${setup.source}; mode ${setup.objective.mode}; random tokens; ours vs torch_ref.py (${TORCH_REF}) on the same device`);
  const peaks = device === "cpu" ? null : { fp32: deviceMatmulPeak(device, "float32"), bf16: deviceMatmulPeak(device, "bfloat16") };
  if (peaks !== null) console.log(`matmul peak (4096³, best of 10): float32 ${peaks.fp32.toFixed(1)} TFLOP/s, bfloat16 ${peaks.bf16.toFixed(1)} TFLOP/s`);
  const rows: Figures[] = [];
  const problems: string[] = [];
  for (const batch of batches) {
    for (const precision of ["fp32", "bf16"] as const) {
      const ours = ourStep(setup, device, batch, precision, steps);
      const ourTflops = (batch * ours.flopsPerImage) / (ours.stepMs / 1000) / 1e12;
      rows.push({ impl: "gcrl", precision, batch, stepMs: ours.stepMs, imagesPerSecond: (1000 * batch) / ours.stepMs, modelTflops: ourTflops });
      const theirs = torchStep(setup, device, batch, precision, steps);
      if (typeof theirs === "string") problems.push(`PyTorch ${precision} batch ${batch}: ${theirs}`);
      else rows.push({ impl: "pytorch", precision, batch, stepMs: theirs.stepMs, imagesPerSecond: (1000 * batch) / theirs.stepMs, modelTflops: (batch * theirs.gflopPerImage * 1e9) / (theirs.stepMs / 1000) / 1e12, line: theirs.line });
    }
  }
  for (const r of rows) {
    const peak = peaks === null ? null : r.precision === "bf16" ? peaks.bf16 : peaks.fp32;
    const mfu = peak === null ? "" : ` (${((100 * r.modelTflops) / peak).toFixed(1)}% of the ${r.precision === "bf16" ? "bf16" : "fp32"} matmul peak)`;
    console.log(`${r.impl.padEnd(7)} ${r.precision} batch ${String(r.batch).padStart(4)}: step ${r.stepMs.toFixed(1).padStart(8)} ms  ${r.imagesPerSecond.toFixed(0).padStart(7)} img/s  ${r.modelTflops.toFixed(2)} model-TFLOP/s${mfu}`);
  }
  for (const batch of batches) {
    for (const precision of ["fp32", "bf16"] as const) {
      const [ours, theirs] = (["gcrl", "pytorch"] as const).map((impl) => rows.find((r) => r.impl === impl && r.batch === batch && r.precision === precision));
      if (ours && theirs) console.log(`ratio gcrl/PyTorch, ${precision}, batch ${batch}: ${(ours.imagesPerSecond / theirs.imagesPerSecond).toFixed(2)} (images/s)`);
    }
  }
  for (const p of problems) console.log(`  ${p}`);
  const json = process.env.GCRL_BENCH_JSON;
  if (json) writeFileSync(json, `${JSON.stringify({ device, steps, warmup: WARMUP_STEPS, setup, peaksTflops: peaks, rows, problems }, null, 2)}\n`);
}
