// Out-of-distribution detection metrics over per-image scores (plain JS, no tensors).
//
// Convention (the same in every OOD file of this project): **a higher score means more OOD, and
// OOD is the positive class.** inScores are the scores of in-distribution test images (negatives),
// outScores those of OOD images (positives). A detector flags x as OOD when score(x) >= t.
//
//   TPR(t) = #{out >= t} / nOut        FPR(t) = #{in >= t} / nIn
//   AUROC    = P(out > in) + ½·P(out = in)         (Mann–Whitney U / (nIn·nOut); ties count ½)
//   AUPR-OUT = AP with OOD positive:   averagePrecision(out, in)
//   AUPR-IN  = AP with in-dist positive, scores negated: averagePrecision(−in, −out)
//   AP       = Σ_n (R_n − R_{n−1}) · P_n over the distinct thresholds, highest first, each tie
//              group entering at once (scikit-learn's average_precision_score)
//   FPR95    = FPR(t*) at the largest threshold t* with TPR(t*) >= 0.95 (fprAtTpr)
//
// Every function sorts once: O(n log n) in the number of scores (tested up to 10^5).

export interface OodMetrics {
  /** Area under the ROC curve; 0.5 = chance, 1 = every OOD score above every in-distribution score. */
  auroc: number;
  /** Average precision with the in-distribution images as positives (scores negated). */
  auprIn: number;
  /** Average precision with the OOD images as positives. */
  auprOut: number;
  /** Fraction of in-distribution images flagged at the largest threshold that flags >= 95% of OOD images. */
  fpr95: number;
  /** Number of in-distribution scores. */
  nIn: number;
  /** Number of OOD scores. */
  nOut: number;
}

/** A ROC curve for plotting: one point per distinct threshold, from (0, 0) (threshold +∞) to (1, 1). */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Descending; thresholds[0] = +Infinity (nothing flagged), then every distinct score. */
  thresholds: Float64Array;
}

/** Copies scores into a Float64Array after checking that the list is non-empty and finite. */
function checkedScores(fn: string, name: string, scores: ArrayLike<number>): Float64Array {
  if (scores === null || scores === undefined || typeof scores.length !== "number") {
    throw new TypeError(`${fn}: ${name} must be an array of numbers, got ${String(scores)}`);
  }
  if (scores.length === 0) throw new RangeError(`${fn}: ${name} is empty (at least one score is needed)`);
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`${fn}: ${name}[${i}] is ${String(v)}; every score must be a finite number`);
    }
    out[i] = v;
  }
  return out;
}

function sortedAscending(fn: string, name: string, scores: ArrayLike<number>): Float64Array {
  return checkedScores(fn, name, scores).sort();
}

function aurocSorted(ins: Float64Array, outs: Float64Array): number {
  // For each OOD score s (ascending), lo = #{in < s} and hi = #{in <= s}, by two pointers.
  // 2U = Σ_s (2·lo + (hi − lo)); exact in doubles while 2·nIn·nOut < 2^53.
  let lo = 0;
  let hi = 0;
  let twiceU = 0;
  for (let j = 0; j < outs.length; j++) {
    const s = outs[j]!;
    while (lo < ins.length && ins[lo]! < s) lo++;
    if (hi < lo) hi = lo;
    while (hi < ins.length && ins[hi]! <= s) hi++;
    twiceU += lo + hi;
  }
  return twiceU / (2 * ins.length * outs.length);
}

/** AUROC = P(out > in) + ½·P(out = in) (Mann–Whitney). 1: perfect, 0.5: chance, 0: reversed. */
export function auroc(inScores: ArrayLike<number>, outScores: ArrayLike<number>): number {
  return aurocSorted(sortedAscending("auroc", "inScores", inScores), sortedAscending("auroc", "outScores", outScores));
}

function averagePrecisionSorted(pos: Float64Array, neg: Float64Array): number {
  // Walk both ascending lists from the top: each distinct threshold t (descending) takes every
  // positive and negative with score == t at once, then adds (ΔR)·P.
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  while (i >= 0) {
    const t = j >= 0 ? Math.max(pos[i]!, neg[j]!) : pos[i]!;
    const tp0 = tp;
    while (i >= 0 && pos[i] === t) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === t) {
      fp++;
      j--;
    }
    if (tp > tp0) ap += ((tp - tp0) / pos.length) * (tp / (tp + fp));
  }
  return ap;
}

/**
 * Average precision of ranking `positive` above `negative` (higher score = predicted positive):
 * Σ_n (R_n − R_{n−1})·P_n over distinct thresholds, tie groups together — scikit-learn's
 * average_precision_score (no interpolation).
 */
export function averagePrecision(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  return averagePrecisionSorted(
    sortedAscending("averagePrecision", "positive", positive),
    sortedAscending("averagePrecision", "negative", negative),
  );
}

function checkTpr(fn: string, tpr: number): void {
  if (typeof tpr !== "number" || !(tpr > 0 && tpr <= 1)) throw new RangeError(`${fn}: tpr must be a number in (0, 1], got ${String(tpr)}`);
}

function fprAtTprSorted(ins: Float64Array, outs: Float64Array, tpr: number): number {
  const n = outs.length;
  // c = the fewest OOD images flagged with c/n >= tpr (the division exactly as TPR is defined).
  let c = Math.min(n, Math.max(1, Math.ceil(tpr * n)));
  while (c > 1 && (c - 1) / n >= tpr) c--;
  while (c < n && c / n < tpr) c++;
  const t = outs[n - c]!; // the c-th largest OOD score: the largest t with #{out >= t} >= c
  // #{in >= t} by binary search for the first in-score >= t.
  let lo = 0;
  let hi = ins.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ins[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return (ins.length - lo) / ins.length;
}

/**
 * FPR (fraction of in-distribution scores >= t) at the largest threshold t whose TPR (fraction of
 * OOD scores >= t) is >= tpr. Tied scores are flagged together. Default tpr 0.95 (FPR95).
 */
export function fprAtTpr(inScores: ArrayLike<number>, outScores: ArrayLike<number>, tpr = 0.95): number {
  checkTpr("fprAtTpr", tpr);
  return fprAtTprSorted(sortedAscending("fprAtTpr", "inScores", inScores), sortedAscending("fprAtTpr", "outScores", outScores), tpr);
}

/** AUROC, AUPR-IN, AUPR-OUT and FPR95 of one in-distribution / OOD score pair (one sort each). */
export function oodMetrics(inScores: ArrayLike<number>, outScores: ArrayLike<number>): OodMetrics {
  const ins = sortedAscending("oodMetrics", "inScores", inScores);
  const outs = sortedAscending("oodMetrics", "outScores", outScores);
  // In-distribution as positive with negated scores: negating reverses the ascending order.
  const negIns = ins.map((v) => -v).reverse();
  const negOuts = outs.map((v) => -v).reverse();
  return {
    auroc: aurocSorted(ins, outs),
    auprIn: averagePrecisionSorted(negIns, negOuts),
    auprOut: averagePrecisionSorted(outs, ins),
    fpr95: fprAtTprSorted(ins, outs, 0.95),
    nIn: ins.length,
    nOut: outs.length,
  };
}

/** The ROC curve: (FPR, TPR) at +∞ and at every distinct score, thresholds descending. */
export function rocCurve(inScores: ArrayLike<number>, outScores: ArrayLike<number>): RocCurve {
  const ins = sortedAscending("rocCurve", "inScores", inScores);
  const outs = sortedAscending("rocCurve", "outScores", outScores);
  const fpr: number[] = [0];
  const tpr: number[] = [0];
  const thresholds: number[] = [Infinity];
  let i = ins.length - 1;
  let j = outs.length - 1;
  while (i >= 0 || j >= 0) {
    const t = i < 0 ? outs[j]! : j < 0 ? ins[i]! : Math.max(ins[i]!, outs[j]!);
    while (i >= 0 && ins[i] === t) i--;
    while (j >= 0 && outs[j] === t) j--;
    thresholds.push(t);
    fpr.push((ins.length - 1 - i) / ins.length);
    tpr.push((outs.length - 1 - j) / outs.length);
  }
  return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr), thresholds: Float64Array.from(thresholds) };
}
