// The GCRL objectives (../shared/design/GCRL.md section 1):
//
//   L_g  generative: negative log-likelihood of the weak view, in nats (bits/dim = nats / ln 2).
//        Every pixel is predicted, the first from a learned start vector. Reduced per pixel (the
//        mean over B·H·W, the default) or per image (the sum over H·W pixels, mean over B images:
//        the paper's and GCRL.md's form, H·W times larger, so α means H·W times more there).
//   L_c  contrastive: NT-Xent between the projections of the weak and the strong view.
//   L    = α·L_g + β·L_c, with the modes gcrl (both), igpt (β = 0: the strong view is never
//        encoded) and simclr (α = 0: the decoder never runs).
import { Tensor, cat, arange, eye, crossEntropy, normalize, noGrad, tidy } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";
import type { z } from "zod";

export { GENERATIVE_REDUCTIONS, OBJECTIVE_MODES, OBJECTIVE_SETTINGS, type GenerativeReduction, type ObjectiveMode } from "./objective-config.ts";
import { OBJECTIVE_SETTINGS, type GenerativeReduction, type ObjectiveMode } from "./objective-config.ts";

/**
 * The factor that turns a per-pixel NLL into the given reduction of tokens (B, H, W) or (B, …):
 * 1 for "pixel", the pixels per image (H·W, i.e. numel / B) for "image".
 */
export function generativeScale(reduction: GenerativeReduction, tokens: Tensor): number {
  if (reduction === "pixel") return 1;
  if (reduction === "image") return tokens.shape.slice(1).reduce((a, s) => a * s, 1);
  throw new TypeError(`generativeReduction must be "pixel" or "image", got ${JSON.stringify(reduction)}`);
}

/**
 * Negative log-likelihood in nats of tokens (B, H, W) int64 under logits (B, H, W, K) → a 0-d
 * tensor. "pixel" (default): −(1/(B·H·W)) Σ log softmax(logits[b,i,j])[tokens[b,i,j]], nats per
 * pixel; "image": the same sum divided by B only, nats per image (H·W times the pixel mean).
 */
export function generativeLoss(logits: Tensor, tokens: Tensor, reduction: GenerativeReduction = "pixel"): Tensor {
  const k = logits.shape[logits.ndim - 1]!;
  const expected = [...tokens.shape, k];
  if (logits.ndim !== expected.length || logits.shape.some((s, i) => s !== expected[i])) {
    throw new TypeError(`generativeLoss: logits [${logits.shape.join(", ")}] do not match tokens [${tokens.shape.join(", ")}] (expected logits [${expected.join(", ")}])`);
  }
  const scale = generativeScale(reduction, tokens);
  return tidy(() => {
    const perPixel = crossEntropy(logits.reshape([-1, k]), tokens.reshape([-1]));
    return scale === 1 ? perPixel : perPixel.mul(scale);
  });
}

/** Converts a per-pixel NLL in nats to bits per dimension: nats / ln 2. */
export function natsToBitsPerDim(nats: number): number {
  return nats / Math.LN2;
}

export interface NtXentResult {
  /** The NT-Xent loss averaged over the 2N anchors (0-d tensor). */
  loss: Tensor;
  /** Fraction of the 2N anchors whose positive has the highest similarity of its 2N−1 candidates (0-d, no grad). */
  accuracy: Tensor;
}

/**
 * NT-Xent (SimCLR) between z1 (N, p) and z2 (N, p), rows paired (z1[i] and z2[i] are two views of
 * image i). Rows are L2-normalised here (already-unit inputs are fine). With the 2N vectors
 * z = [z1; z2] and s(a, b) = z_a·z_b / τ, anchor a with positive a⁺ (i ↔ N+i) has loss
 *
 *   ℓ_a = −s(a, a⁺) + log Σ_{b ≠ a} exp s(a, b)        (2N − 1 candidates: every other vector)
 *
 * and the loss is the mean of ℓ_a over all 2N anchors (both directions). N ≥ 2.
 */
export function ntXentLoss(z1: Tensor, z2: Tensor, tau: number): NtXentResult {
  if (z1.ndim !== 2 || z2.ndim !== 2 || z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new TypeError(`ntXentLoss: z1 and z2 must both be (N, p) with equal shapes, got [${z1.shape.join(", ")}] and [${z2.shape.join(", ")}]`);
  }
  const n = z1.shape[0]!;
  if (n < 2) throw new RangeError(`ntXentLoss: need N >= 2 pairs (one pair has no negatives), got N=${n}`);
  if (!(typeof tau === "number" && tau > 0 && Number.isFinite(tau))) throw new RangeError(`ntXentLoss: tau must be a positive number, got ${tau}`);
  return tidy(() => {
    const z = normalize(cat([z1, z2], 0), 2, 1); // (2N, p)
    const self = eye(2 * n, { dtype: "bool", device: z.device });
    const sim = z.matmul(z.transpose(0, 1)).div(tau).maskedFill(self, -Infinity); // (2N, 2N)
    const positive = cat([arange(n, 2 * n, 1, { device: z.device }), arange(0, n, 1, { device: z.device })]); // (2N,) int64
    const loss = crossEntropy(sim, positive);
    const accuracy = noGrad(() => sim.argmax(1).eq(positive).to(z.dtype).mean());
    return { loss, accuracy };
  });
}

export interface ObjectiveConfig {
  mode: ObjectiveMode;
  /** Weight α of the generative loss (default 1; ignored, i.e. 0, in simclr mode). */
  alpha?: number;
  /** Weight β of the contrastive loss (default 1; ignored, i.e. 0, in igpt mode). */
  beta?: number;
  /** NT-Xent temperature τ (default 0.1). */
  tau?: number;
  /** The reduction of L_g inside α·L_g (default "pixel"); the reported `generative` stays per pixel. */
  generativeReduction?: GenerativeReduction;
}

const { mode: _mode, ...objectiveDefaults } = OBJECTIVE_SETTINGS.parse({});
/** α, β, τ and the reduction when an ObjectiveConfig leaves them out: the run config's defaults. */
export const OBJECTIVE_DEFAULTS: Readonly<Omit<z.output<typeof OBJECTIVE_SETTINGS>, "mode">> = Object.freeze(objectiveDefaults);

/**
 * Data-parallel training: this process holds one shard of the global batch. NT-Xent is computed on
 * the global batch from every rank's projections (SimCLR's distributed form), L_g on the shard.
 */
export interface GlobalBatch {
  /** Every rank's (b, p) rows concatenated in rank order, (N·b, p); only this rank's rows carry gradient (allGatherWithGrad). */
  gather(z: Tensor): Tensor;
  /** N, the number of ranks. */
  worldSize: number;
}

export interface HybridLossResult {
  /** α·L_g + β·L_c (the terms of the mode, L_g in objective.generativeReduction), 0-d, differentiable. */
  loss: Tensor;
  /**
   * What to back-propagate: `loss` in one process; with a GlobalBatch, α·L_g(shard) + N·β·L_c(global
   * batch), so that the ranks' gradients AVERAGED equal the one-process gradient of the global
   * batch's loss (the derivation is at allGatherWithGrad in src/torch/distributed.ts).
   */
  gradientLoss: Tensor;
  /** L_g in nats per pixel (0-d) whatever the reduction (for logs and bits/dim), or null in simclr mode. */
  generative: Tensor | null;
  /** L_c (0-d), or null in igpt mode. */
  contrastive: Tensor | null;
  /** Contrastive top-1 accuracy (0-d, no grad), or null in igpt mode. */
  contrastiveAccuracy: Tensor | null;
}

/**
 * One training objective evaluation. weakTokens and strongTokens (B, H, W) int64 are the two views
 * of the same B images (row b of each from image b). The results are tensors (read them with
 * item() when logging; that waits for the device).
 *
 * * gcrl: encode both views (one batched encoder pass over 2B images), decode the weak view.
 * * igpt: encode and decode the weak view only; strongTokens may be null and is never encoded.
 * * simclr: encode both views; the decoder is not run.
 *
 * L_g enters the loss as objective.generativeReduction says ("pixel": as returned; "image": times
 * H·W), so "image" with α is "pixel" with α·H·W.
 *
 * With `global` (data-parallel training), weakTokens and strongTokens are this rank's shard and
 * NT-Xent runs on the gathered projections of the global batch; `generative` is the shard's mean.
 */
export function hybridLoss(objective: ObjectiveConfig, model: GCRLModel, weakTokens: Tensor, strongTokens: Tensor | null, global: GlobalBatch | null = null): HybridLossResult {
  const mode = objective.mode;
  if (mode !== "gcrl" && mode !== "igpt" && mode !== "simclr") throw new TypeError(`hybridLoss: mode must be "gcrl", "igpt" or "simclr", got ${JSON.stringify(mode)}`);
  const alpha = objective.alpha ?? OBJECTIVE_DEFAULTS.alpha;
  const beta = objective.beta ?? OBJECTIVE_DEFAULTS.beta;
  const tau = objective.tau ?? OBJECTIVE_DEFAULTS.tau;
  const gScale = generativeScale(objective.generativeReduction ?? OBJECTIVE_DEFAULTS.generativeReduction, weakTokens); // 1 or H·W
  for (const [name, v] of [["alpha", alpha], ["beta", beta]] as const) {
    if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) throw new RangeError(`hybridLoss: ${name} must be a finite number >= 0, got ${v}`);
  }
  const contrastive = mode !== "igpt";
  if (contrastive) {
    if (strongTokens === null) throw new TypeError(`hybridLoss: mode "${mode}" needs the strong view (strongTokens is null)`);
    if (strongTokens.shape.length !== weakTokens.shape.length || strongTokens.shape.some((s, i) => s !== weakTokens.shape[i])) {
      throw new TypeError(`hybridLoss: the views differ in shape: weak [${weakTokens.shape.join(", ")}], strong [${strongTokens.shape.join(", ")}]`);
    }
  }
  return tidy(() => {
    const b = weakTokens.shape[0]!;
    let hiddenWeak: Tensor;
    let nt: NtXentResult | null = null;
    if (contrastive) {
      const both = model.encode(cat([weakTokens, strongTokens!], 0)); // 2B images, one pass
      hiddenWeak = both.hidden.narrow(0, 0, b);
      const z = model.project(both.representation); // (2B, p)
      const z1 = z.narrow(0, 0, b);
      const z2 = z.narrow(0, b, b);
      nt = global === null ? ntXentLoss(z1, z2, tau) : ntXentLoss(global.gather(z1), global.gather(z2), tau);
    } else {
      hiddenWeak = model.encode(weakTokens).hidden;
    }
    const generative = mode !== "simclr" ? generativeLoss(model.decode(weakTokens, hiddenWeak), weakTokens) : null;
    const combine = (contrastiveWeight: number): Tensor => {
      if (mode === "gcrl") return generative!.mul(alpha * gScale).add(nt!.loss.mul(contrastiveWeight));
      if (mode === "igpt") return generative!.mul(alpha * gScale);
      return nt!.loss.mul(contrastiveWeight);
    };
    const loss = combine(beta);
    const gradientLoss = global === null || global.worldSize === 1 || mode === "igpt" ? loss : combine(beta * global.worldSize);
    return { loss, gradientLoss, generative, contrastive: nt?.loss ?? null, contrastiveAccuracy: nt?.accuracy ?? null };
  });
}
