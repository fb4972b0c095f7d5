// The fast training kernels of native/kernels/kernels.cc (dispatcher operators of the `gcrl` namespace)
// and the compute options that pick them. There is no process-wide setting: a ComputeOptions value
// is held by the model (Module.compute, set with setCompute()) and passed to every call here.
//
//   kernels       "fast" (default): Linear layers on the CPU run gcrl::linear (GEMMs over row
//                 chunks) and attention runs the fused gcrl::attention; "reference": aten::linear
//                 and matmul/softmax attention, the straightforward implementation the fast path
//                 is tested against.
//   precision     "fp32" (default) or "bf16": mixed precision with autocast's dtype flow. Linear
//                 layers take float32 or bfloat16 inputs and return bfloat16 (float32 master
//                 weights, cast once per call; GEMMs accumulate in float32), so the MLP's GELU and
//                 second Linear run on bf16 activations; attention reads the bf16 qkv and returns
//                 bf16, with float32 scores, softmax and accumulation; LayerNorm, losses and the
//                 residual stream stay float32 (a bf16 branch added to the float32 stream promotes
//                 to float32). Only worth it where the CPU multiplies bf16 natively (AVX512-BF16 or
//                 AMX; see bf16Supported()); elsewhere ATen emulates bf16, correct but slow.
import { readFileSync } from "node:fs";
import { argError } from "./errors.ts";
import { op, opT, type Tensor } from "./tensor.ts";

export type KernelPath = "fast" | "reference";
export type MatmulPrecision = "fp32" | "bf16";

/**
 * Rows of the flattened input per GEMM in gcrl::linear. ENGINE-FACTS.md measured OpenBLAS slow on
 * tall-skinny products as one call; the OpenBLAS measured here is not (`npm run bench -- kernels`,
 * with the caching allocator on as in training: chunks of 4096 run the reference model's four
 * Linear shapes within ±10% of aten::linear, both near the matmul peak), so this is a per-machine
 * choice worth revisiting per shape.
 */
export const LINEAR_CHUNK_ROWS = 4096;

/** How a module's Linear layers and attention compute: the matmul precision and the kernel path. */
export interface ComputeOptions {
  readonly precision: MatmulPrecision;
  readonly kernels: KernelPath;
}

/** fp32 matmuls on the fast kernels: what every module computes with unless told otherwise. */
export const DEFAULT_COMPUTE: ComputeOptions = Object.freeze({ precision: "fp32", kernels: "fast" });

/** `base` (default DEFAULT_COMPUTE) with the given fields replaced, checked; a frozen value. */
export function resolveCompute(options: Partial<ComputeOptions> = {}, base: ComputeOptions = DEFAULT_COMPUTE): ComputeOptions {
  const precision = options.precision ?? base.precision;
  const kernels = options.kernels ?? base.kernels;
  if (precision !== "fp32" && precision !== "bf16") argError("resolveCompute", "precision", `"fp32" or "bf16"`, precision);
  if (kernels !== "fast" && kernels !== "reference") argError("resolveCompute", "kernels", `"fast" or "reference"`, kernels);
  return precision === DEFAULT_COMPUTE.precision && kernels === DEFAULT_COMPUTE.kernels ? DEFAULT_COMPUTE : Object.freeze({ precision, kernels });
}

let bf16Cpu: boolean | undefined;

/**
 * Whether this CPU multiplies bfloat16 natively (the avx512_bf16 or amx_bf16 flag in
 * /proc/cpuinfo). Without it libtorch emulates bf16 GEMMs, many times slower than float32.
 */
export function bf16Supported(): boolean {
  if (bf16Cpu === undefined) {
    let flags = "";
    try {
      flags = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      flags = "";
    }
    bf16Cpu = /\b(avx512_bf16|amx_bf16)\b/.test(flags);
  }
  return bf16Cpu;
}

export interface LinearChunkedOptions {
  /** Rows of the flattened x per GEMM (default LINEAR_CHUNK_ROWS). */
  chunkRows?: number;
  /**
   * bf16 mixed precision (default false): x float32 or bfloat16, weight and bias float32 → y
   * bfloat16, one bf16 GEMM per product (chunkRows unused), accumulating in float32.
   */
  bf16?: boolean;
}

/**
 * gcrl::linear: x·Wᵀ + b with x (..., in), W (out, in), b (out) or null, float32 or float64 on the
 * CPU, every GEMM of forward and backward over at most chunkRows rows of the flattened x (in
 * float32 by default one oneDNN GEMM over all rows instead; setFp32Gemm); with
 * bf16, x float32 or bfloat16, W and b float32, and y bfloat16 (see LinearChunkedOptions.bf16).
 */
export function linearChunked(x: Tensor, weight: Tensor, bias: Tensor | null, options: LinearChunkedOptions = {}): Tensor {
  const chunkRows = options.chunkRows ?? LINEAR_CHUNK_ROWS;
  const bf16 = options.bf16 ?? false;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) argError("linearChunked", "chunkRows", "a positive integer", chunkRows);
  if (bf16 && weight.dtype !== "float32") argError("linearChunked", "bf16", "false for float64 weights", bf16);
  const refusal = linearChunkedRefusal(x, weight, bias, bf16);
  if (refusal !== null) argError("linearChunked", refusal.arg, refusal.expected, refusal.got);
  return opT("gcrl::linear", x, weight, bias, chunkRows, bf16);
}

/**
 * Why gcrl::linear would refuse these tensors (the argument, what it expects, what it got), or
 * null. With bf16, x may also be bfloat16 while W and b are float32.
 */
function linearChunkedRefusal(x: Tensor, weight: Tensor, bias: Tensor | null, bf16 = false): { arg: string; expected: string; got: unknown } | null {
  if (weight.ndim !== 2) return { arg: "weight", expected: "a 2-d (out, in) tensor", got: weight };
  const [out, inFeatures] = weight.shape as [number, number];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inFeatures) return { arg: "x", expected: `a tensor whose last dim is ${inFeatures}`, got: x };
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== out)) return { arg: "bias", expected: `a 1-d tensor of ${out} elements or null`, got: bias };
  const dtype = weight.dtype;
  for (const [arg, t] of [["x", x], ["weight", weight], ["bias", bias]] as const) {
    if (t === null) continue;
    if (t.device !== "cpu") return { arg, expected: "a CPU tensor", got: t.device };
    if (bf16 && arg === "x" && t.dtype === "bfloat16" && dtype === "float32") continue;
    if (t.dtype !== dtype || (dtype !== "float32" && dtype !== "float64")) return { arg, expected: "float32 or float64, all three of the same dtype", got: t.dtype };
  }
  return null;
}

/**
 * Whether a Linear under `compute` multiplies in bf16: precision "bf16" with float32 master weights
 * and a float32 or bfloat16 input (float64 models stay float64).
 */
function linearInBf16(x: Tensor, weight: Tensor, compute: ComputeOptions): boolean {
  return compute.precision === "bf16" && weight.dtype === "float32" && (x.dtype === "float32" || x.dtype === "bfloat16");
}

/**
 * y = x·Wᵀ + b, x (..., in), W (out, in), b (out) or null. On kernels "fast", for tensors gcrl::linear
 * takes: gcrl::linear (in fp32 one oneDNN GEMM by default, or chunked OpenBLAS GEMMs:
 * setFp32Gemm; bf16 GEMMs under precision "bf16");
 * otherwise aten::linear, whose errors name bad arguments as linear's (under "bf16" on operands
 * cast to bfloat16, as autocast casts them). Under "bf16" the result is bfloat16 either way.
 */
export function linearKernel(x: Tensor, weight: Tensor, bias: Tensor | null, compute: ComputeOptions): Tensor {
  const bf16 = linearInBf16(x, weight, compute);
  if (compute.kernels === "fast" && linearChunkedRefusal(x, weight, bias, bf16) === null) return opT("gcrl::linear", x, weight, bias, LINEAR_CHUNK_ROWS, bf16);
  if (bf16) return opT("aten::linear", x.to("bfloat16"), weight.to("bfloat16"), bias === null ? null : bias.to("bfloat16"));
  return opT("aten::linear", x, weight, bias);
}

/**
 * gcrl::attention: multi-head softmax attention within each of N sequences of length L, read from
 * the packed qkv (N, L, 3d) ([q | k | v], heads contiguous in each) → (N, L, d), heads concatenated.
 * Float32, float64 or bfloat16 on the CPU (bfloat16: in and out only; scores, softmax, the saved
 * probabilities and every accumulation in float32); no dropout (callers needing attention dropout
 * use the reference).
 */
export function attentionFused(qkv: Tensor, heads: number, causal: boolean): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2]! % 3 !== 0) argError("attentionFused", "qkv", "an (N, L, 3d) tensor", qkv);
  const d = qkv.shape[2]! / 3;
  if (!Number.isInteger(heads) || heads < 1 || d % heads !== 0) argError("attentionFused", "heads", `a positive divisor of d = ${d}`, heads);
  if (qkv.device !== "cpu" || !FUSED_ATTENTION_DTYPES.has(qkv.dtype)) argError("attentionFused", "qkv", "a float32, float64 or bfloat16 CPU tensor", `${qkv.dtype} on ${qkv.device}`);
  if (qkv.numel === 0) argError("attentionFused", "qkv", "a non-empty tensor", qkv);
  return opT("gcrl::attention", qkv, heads, causal);
}

const FUSED_ATTENTION_DTYPES: ReadonlySet<string> = new Set(["float32", "float64", "bfloat16"]);

/**
 * Which loops gcrl::attention runs on this CPU: "avx512" (64-byte register tiles, where the CPU
 * has x86-64-v4's AVX-512 extensions) or "avx2" (32-byte tiles, compiled for AVX2 + FMA and for
 * older CPUs, the loader picking one). Both give the same bits. The environment variable
 * GCRL_AVX512=0, read on every call, keeps the 32-byte tiles (for tests and benchmarks).
 */
export function attentionVariant(): "avx512" | "avx2" {
  return (op("gcrl::attention_avx512") as boolean) ? "avx512" : "avx2";
}

/**
 * Whether attention on qkv can take the fused kernel: kernels "fast", a float32/float64/bfloat16
 * CPU tensor (under precision "bf16" the qkv Linear returns bfloat16), no dropout.
 */
export function fusedAttentionApplies(qkv: Tensor, dropoutActive: boolean, compute: ComputeOptions): boolean {
  return compute.kernels === "fast" && !dropoutActive && qkv.device === "cpu" && FUSED_ATTENTION_DTYPES.has(qkv.dtype) && qkv.numel > 0;
}

/**
 * a·b (torch.matmul). Under precision "bf16", float32/bfloat16 operands are multiplied as bfloat16
 * and the result is bfloat16 (autocast's matmul); float64 stays float64.
 */
export function matmulKernel(a: Tensor, b: Tensor, compute: ComputeOptions): Tensor {
  const half = (t: Tensor): boolean => t.dtype === "float32" || t.dtype === "bfloat16";
  if (compute.precision === "bf16" && half(a) && half(b)) return a.to("bfloat16").matmul(b.to("bfloat16"));
  return a.matmul(b);
}

/**
 * t as float32 if it is bfloat16, else t itself: where a bf16 mixed-precision result leaves the
 * model (logits, projections) or enters a float32-only operation (softmax), as autocast widens
 * before softmax and losses. Float64 stays float64.
 */
export function widenBf16(t: Tensor): Tensor {
  return t.dtype === "bfloat16" ? t.to("float32") : t;
}

/**
 * How gcrl::linear runs its float32 GEMMs (y = x·Wᵀ + b, dx = g·W, dW = gᵀ·x): "onednn" (the
 * default) is one oneDNN dnnl_sgemm call, "openblas" OpenBLAS over row chunks (the route before
 * oneDNN was measured faster), "auto" measures both at the first use of each (GEMM, rows, in, out,
 * threads) shape and keeps the faster for the process. The default is a fixed route because a
 * timed choice can differ between processes, and with it the last bits of every result: a resumed
 * run would no longer be bit-exact. Where oneDNN's dnnl_sgemm is not in the process
 * every GEMM takes OpenBLAS, and fp32GemmReport() says why. Process-wide, like setBlasThreads; the
 * initial value comes from GCRL_FP32_GEMM. Float64 and bf16 Linears are not affected.
 */
export type Fp32GemmMode = "auto" | "openblas" | "onednn";
export type Fp32GemmRoute = "openblas" | "onednn";

export interface Fp32GemmChoice {
  gemm: "forward" | "input_grad" | "weight_grad";
  rows: number;
  in: number;
  out: number;
  /** libtorch's intra-op threads and OpenBLAS's threads when measured (-1: not OpenBLAS). */
  threads: number;
  blasThreads: number;
  route: Fp32GemmRoute;
  /** Best of three runs of each route, seconds. */
  openblasSeconds: number;
  onednnSeconds: number;
}

export interface Fp32GemmReport {
  mode: Fp32GemmMode;
  onednnAvailable: boolean;
  /** Why not, when onednnAvailable is false ("" otherwise). */
  onednnReason: string;
  hasMKLDNN: boolean;
  /** oneDNN's version, its effective ISA (dnnl_cpu_isa_t) and OpenBLAS's kernel set, where found. */
  onednnVersion?: string;
  onednnIsa?: number;
  openblasCore?: string;
  /** Every shape measured under "auto" so far in this process. */
  choices: Fp32GemmChoice[];
}

export function setFp32Gemm(mode: Fp32GemmMode): void {
  if (mode !== "auto" && mode !== "openblas" && mode !== "onednn") argError("setFp32Gemm", "mode", `"auto", "openblas" or "onednn"`, mode);
  op("gcrl::set_fp32_gemm", mode);
}

export function fp32GemmReport(): Fp32GemmReport {
  return JSON.parse(op("gcrl::fp32_gemm_report") as string) as Fp32GemmReport;
}

/** a·b for float32 2-d CPU tensors by one route (for benchmarks: the two fp32 matmul peaks); "onednn" throws where it is unavailable. */
export function fp32Mm(a: Tensor, b: Tensor, route: Fp32GemmRoute): Tensor {
  if (route !== "openblas" && route !== "onednn") argError("fp32Mm", "route", `"openblas" or "onednn"`, route);
  return opT("gcrl::fp32_mm", a, b, route);
}

export interface CpuCacheStats {
  /** Bytes held in the free lists. */
  cachedBytes: number;
  /** Large allocations served from the cache / from the system since the process started. */
  hits: number;
  misses: number;
  /** Large blocks handed out and not yet freed. */
  blocksInUse: number;
}

/**
 * Switches libtorch's CPU allocator to native/kernels/allocator.cc's caching allocator, which keeps
 * freed blocks of ≥ 1 MiB (up to maxBytes in all) and hands them out again for the same size,
 * instead of mapping and faulting in fresh pages for every large tensor. 0 switches back to the
 * default allocator and frees the cache. Tensors allocated under either allocator stay valid.
 */
export function setCpuCache(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) argError("setCpuCache", "maxBytes", "a non-negative integer number of bytes", maxBytes);
  op("gcrl::set_cpu_cache", maxBytes);
}

export function cpuCacheStats(): CpuCacheStats {
  const [cachedBytes, hits, misses, blocksInUse] = op("gcrl::cpu_cache_stats") as number[];
  return { cachedBytes: cachedBytes!, hits: hits!, misses: misses!, blocksInUse: blocksInUse! };
}

/** Default cache size of withCpuCache: more than a reference-model training step's activations. */
export const CPU_CACHE_BYTES = 8 * 1024 ** 3;

/** How many withCpuCache / withCpuCacheSync calls are running: the cache is switched off when the last ends. */
let cacheDepth = 0;

function enterCpuCache(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) argError("withCpuCache", "maxBytes", "a non-negative integer number of bytes", maxBytes);
  // An outermost call with maxBytes 0 ("before", for comparisons with the reference kernels) leaves
  // libtorch's default allocator in place, for itself and every call nested in it.
  if (cacheDepth === 0 && maxBytes > 0) setCpuCache(maxBytes);
  cacheDepth++;
}

function leaveCpuCache(): void {
  cacheDepth--;
  if (cacheDepth === 0) setCpuCache(0);
}

/**
 * Runs fn (sync or async) with the caching allocator on, then switches it off and frees the cache.
 * Calls nest (an evaluation inside a training run): an inner call keeps the outer call's cache and
 * size, and only the outermost call switches it off. An outermost call with maxBytes 0 runs fn,
 * and the calls nested in it, without the cache.
 */
export async function withCpuCache<T>(fn: () => Promise<T> | T, maxBytes = CPU_CACHE_BYTES): Promise<T> {
  enterCpuCache(maxBytes);
  try {
    return await fn();
  } finally {
    leaveCpuCache();
  }
}

/** withCpuCache for synchronous work (image passes, sampling); nests with it the same way. */
export function withCpuCacheSync<T>(fn: () => T, maxBytes = CPU_CACHE_BYTES): T {
  enterCpuCache(maxBytes);
  try {
    return fn();
  } finally {
    leaveCpuCache();
  }
}

/** OpenBLAS's own thread count, or null when libtorch's BLAS here is not OpenBLAS. */
export function blasThreads(): number | null {
  const n = op("gcrl::get_blas_threads") as number;
  return n < 0 ? null : n;
}

/**
 * Sets OpenBLAS's own thread count (false when the BLAS is not OpenBLAS). At 1, gcrl::linear runs
 * its row chunks in parallel over libtorch's intra-op threads instead, one GEMM per thread, and
 * the two thread pools stop competing for the same cores; other BLAS calls (aten::linear, matmul)
 * then run on one thread.
 */
export function setBlasThreads(n: number): boolean {
  if (!Number.isInteger(n) || n < 1 || n > 1024) argError("setBlasThreads", "n", "an integer between 1 and 1024", n);
  return op("gcrl::set_blas_threads", n) as boolean;
}
