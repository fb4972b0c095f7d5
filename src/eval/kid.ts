// Kernel Inception Distance (Bińkowski et al. 2018), as clean-fid's kernel_distance computes it.
//
// With the cubic polynomial kernel k(x, y) = (x·y / D + 1)³ on D-dimensional features, each of
// `subsets` rounds draws m = subsetSize rows without replacement from each set (x from A, y from B)
// and computes the unbiased estimate of the squared maximum mean discrepancy
//
//   MMD²_u = Σ_{i≠j} [k(xi, xj) + k(yi, yj)] / (m (m − 1))  −  2 Σ_{i,j} k(xi, yj) / m².
//
// KID is the mean of MMD²_u over the subsets (clean-fid returns this mean); std is the population
// standard deviation over the subsets (numpy.std, ddof 0, as torch-fidelity's kid_std). MMD²_u is
// unbiased, so it can be slightly negative for sets from the same distribution. Gram blocks are
// (m, m) float64 matrices; the cost is 3·subsets Gram products of m·m·D multiply-adds.
import { Tensor, linalg, noGrad, tensor, tidy } from "../torch/index.ts";
import { Rng } from "../data/rng.ts";
import { checkFeatures } from "./fid.ts";

export interface KidOptions {
  /** Number of random subsets (default 100). */
  subsets?: number;
  /** Rows drawn from each set per subset (default 1000, capped at min(Na, Nb)). */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

export interface KidResult {
  /** Mean of MMD²_u over the subsets: the KID. */
  mean: number;
  /** Population standard deviation of MMD²_u over the subsets (0 for one subset). */
  std: number;
  /** Number of subsets drawn. */
  subsets: number;
  /** Rows per set and subset actually used (after the cap). */
  subsetSize: number;
}

export const KID_DEFAULTS = Object.freeze({ subsets: 100, subsetSize: 1000, seed: 0 });

function positiveInt(name: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(`kernelInceptionDistance: options.${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/** MMD²_u of two (m, D) float64 samples with the cubic polynomial kernel. */
function mmdUnbiased(x: Tensor, y: Tensor): number {
  return tidy(() => {
    const m = x.size(0);
    const d = x.size(1);
    const kernel = (p: Tensor, q: Tensor): Tensor => p.matmul(q.mT).div(d).add(1).pow(3); // (m, m)
    const kxx = kernel(x, x);
    const kyy = kernel(y, y);
    const within = kxx.sum().item() - linalg.trace(kxx).item() + kyy.sum().item() - linalg.trace(kyy).item();
    const across = kernel(x, y).sum().item();
    return within / (m * (m - 1)) - (2 * across) / (m * m);
  });
}

/** KID between feature sets a (Na, D) and b (Nb, D); see the header for the estimator. */
export function kernelInceptionDistance(a: Tensor, b: Tensor, options: KidOptions = {}): KidResult {
  checkFeatures("kernelInceptionDistance: a", a);
  checkFeatures("kernelInceptionDistance: b", b);
  if (a.size(1) !== b.size(1)) {
    throw new RangeError(`kernelInceptionDistance: a and b must have the same feature dimension D, got ${a.toString()} and ${b.toString()}`);
  }
  const subsets = positiveInt("subsets", options.subsets ?? KID_DEFAULTS.subsets, 1);
  const requested = positiveInt("subsetSize", options.subsetSize ?? KID_DEFAULTS.subsetSize, 2);
  const seed = options.seed ?? KID_DEFAULTS.seed;
  if (!Number.isFinite(seed)) throw new RangeError(`kernelInceptionDistance: options.seed must be a finite number, got ${seed}`);
  const na = a.size(0);
  const nb = b.size(0);
  const m = Math.min(requested, na, nb);
  const values = noGrad(() =>
    tidy(() => {
      const xa = a.detach().cpu().to("float64");
      const xb = b.detach().cpu().to("float64");
      const out: number[] = [];
      for (let s = 0; s < subsets; s++) {
        const rng = Rng.derive(seed, s);
        const pick = (n: number): Tensor => tensor(rng.permutation(n).subarray(0, m)).long();
        out.push(tidy(() => mmdUnbiased(xa.indexSelect(0, pick(na)), xb.indexSelect(0, pick(nb)))));
      }
      return out;
    }),
  );
  const mean = values.reduce((s, v) => s + v, 0) / subsets;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / subsets);
  return { mean, std, subsets, subsetSize: m };
}
