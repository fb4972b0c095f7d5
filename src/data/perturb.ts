// Input perturbation for the background model of the likelihood-ratio OOD score (Ren et al. 2019,
// NeurIPS, "Likelihood ratios for out-of-distribution detection", section 3): each pixel of a
// training image is replaced, with probability μ, by a colour drawn uniformly from the palette
// (Ren et al.: μ in [0.1, 0.3] on Fashion-MNIST). A model trained on such images learns the
// population-level statistics (background) but little of the semantic content, so the NLL
// difference NLL_model − NLL_background isolates the semantic part.
//
// Here the colour is a palette token: tokens int64 (B, H, W) with values in [0, K) → the same shape,
// each entry independently kept (probability 1 − μ) or replaced by a uniform token in [0, K) (which
// may by chance be the same token). The randomness comes from the caller's Rng, so a batch is a pure
// function of (seed, epoch, index) as the loader requires for exact resume.
import { Tensor, tensor, tidy, where } from "../torch/index.ts";
import type { Rng } from "./rng.ts";

export function perturbTokens(tokens: Tensor, mu: number, k: number, rng: Rng): Tensor {
  if (!(typeof mu === "number" && mu >= 0 && mu < 1)) throw new RangeError(`perturbTokens: mu must be a probability in [0, 1), got ${String(mu)}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`perturbTokens: k must be a positive integer, got ${String(k)}`);
  if (!(tokens instanceof Tensor) || tokens.dtype !== "int64") throw new TypeError(`perturbTokens: tokens must be an int64 tensor, got ${String(tokens)}`);
  if (mu === 0) return tidy(() => tokens.clone());
  const n = tokens.numel;
  const replace = new Uint8Array(n);
  const colours = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    replace[i] = rng.next() < mu ? 1 : 0;
    colours[i] = rng.int(0, k);
  }
  return tidy(() => {
    const mask = tensor(replace, { dtype: "uint8", shape: tokens.shape }).to("bool").toDevice(tokens.device);
    const random = tensor(colours, { shape: tokens.shape }).long().toDevice(tokens.device);
    return where(mask, random, tokens);
  });
}

/**
 * Advances `rng` past the draws perturbTokens makes for `tokens` tokens (a data-parallel shard's
 * tokens before and after its own, so that its tokens get the draws they get in one process).
 */
export function skipPerturbDraws(rng: Rng, tokens: number, mu: number, k: number): void {
  if (mu === 0) return; // perturbTokens draws nothing then
  for (let i = 0; i < tokens; i++) {
    rng.next();
    rng.int(0, k);
  }
}
