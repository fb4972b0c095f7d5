// Drawing one colour from a row of K logits: temperature, top-k filter, then inverse CDF on a
// uniform u ∈ [0, 1) supplied by the caller (from the seeded JS Rng, so that every sampling path
// that sees the same logits and the same u picks the same colour).
//
//   keep     = the topK largest logits (all K when topK = 0; ties go to the lower index)
//   p_c      = exp((l_c − max_keep l) / T) / Σ_{c' ∈ keep} exp((l_c' − max_keep l) / T)   (c ∈ keep, else 0)
//   colour   = the smallest c with u < Σ_{c' ≤ c} p_c'
//
// Computed in float64 in JS: K is at most a few hundred and this runs once per sampled pixel,
// next to a network pass that costs far more.

/** Temperature and top-k of a categorical draw (validated by the caller, see checkSamplingParams). */
export interface CategoricalParams {
  /** > 0: logits are divided by it. */
  temperature: number;
  /** 0 = all K colours; else keep the topK largest logits. */
  topK: number;
}

/**
 * The colour drawn from logits[offset .. offset + k) for the uniform u ∈ [0, 1). Throws when a
 * logit is NaN or +∞ (a broken model must not silently produce images).
 */
export function sampleCategorical(logits: ArrayLike<number>, offset: number, k: number, params: CategoricalParams, u: number): number {
  const { temperature, topK } = params;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    const v = logits[offset + c]!;
    if (Number.isNaN(v) || v === Infinity) throw new RangeError(`sampleCategorical: the model produced a non-finite logit (${v}) for colour ${c}`);
    if (v > max) max = v;
  }
  if (max === -Infinity) throw new RangeError("sampleCategorical: every logit is -Infinity");
  // threshold: the topK-th largest logit; `budget` = how many logits equal to it may still be kept.
  let threshold = -Infinity;
  let atThreshold = Infinity;
  if (topK > 0 && topK < k) {
    const sorted = new Float64Array(k);
    for (let c = 0; c < k; c++) sorted[c] = logits[offset + c]!;
    sorted.sort();
    threshold = sorted[k - topK]!;
    let above = 0;
    for (let c = k - topK + 1; c < k; c++) if (sorted[c]! > threshold) above++;
    atThreshold = topK - above;
  }
  const weights = new Float64Array(k);
  let total = 0;
  let budget = atThreshold;
  for (let c = 0; c < k; c++) {
    const v = logits[offset + c]!;
    if (v < threshold) continue;
    if (v === threshold) {
      if (budget <= 0) continue;
      budget--;
    }
    const w = Math.exp((v - max) / temperature);
    weights[c] = w;
    total += w;
  }
  const target = u * total;
  let acc = 0;
  let last = -1;
  for (let c = 0; c < k; c++) {
    if (weights[c] === 0) continue;
    acc += weights[c]!;
    last = c;
    if (target < acc) return c;
  }
  if (last < 0) throw new RangeError("sampleCategorical: no colour has a positive probability");
  return last; // u·total rounded up to the full sum
}

/**
 * Checks temperature (finite, > 0) and topK (integer in [0, k]); `where` names the caller in the
 * message.
 */
export function checkCategoricalParams(where: string, params: CategoricalParams, k: number): void {
  const { temperature, topK } = params;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature <= 0) {
    throw new RangeError(`${where}: temperature must be a finite number > 0, got ${String(temperature)}`);
  }
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 0 || topK > k) {
    throw new RangeError(`${where}: topK must be an integer in [0, ${k}] (0 = all ${k} colours), got ${String(topK)}`);
  }
}
