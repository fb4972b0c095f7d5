// k-means for palettes, on the distinct sampled pixel values weighted by their pixel counts (the
// same objective and the same Lloyd steps as k-means on the pixels themselves, on at most 256 gray
// values or ~samplePixels colors): k-means++ initialisation, Lloyd iterations with the exact
// nearest-centroid search of palette-nearest.ts, empty clusters re-seeded with the points farthest
// from their centroids.
//
// Deterministic bit for bit: everything runs in float64 in a fixed order on the CPU, independent of
// thread count and BLAS. Cluster sums are sums of integer pixel values, so they are exact.
import type { Rng } from "./rng.ts";
import { assignNearest, mortonDecode, mortonEncode, type WeightedPoints } from "./palette-nearest.ts";

export type { WeightedPoints } from "./palette-nearest.ts";

/** The distinct values of `pixels` ((P, C) uint8 row-major) with their counts, in the order k-means uses. */
export function distinctValues(pixels: Uint8Array, channels: 1 | 3): WeightedPoints {
  const count = pixels.length / channels;
  if (channels === 1) {
    const hist = new Float64Array(256);
    for (let i = 0; i < count; i++) hist[pixels[i]!] += 1;
    const codes: number[] = [];
    for (let v = 0; v < 256; v++) if (hist[v]! > 0) codes.push(v);
    return {
      channels,
      values: Float64Array.from(codes),
      codes: Uint32Array.from(codes),
      weights: Float64Array.from(codes, (v) => hist[v]!),
    };
  }
  const all = new Uint32Array(count);
  for (let i = 0; i < count; i++) all[i] = mortonEncode(pixels[3 * i]!, pixels[3 * i + 1]!, pixels[3 * i + 2]!);
  all.sort();
  let u = 0;
  for (let i = 0; i < count; i++) if (i === 0 || all[i] !== all[i - 1]) u++;
  const codes = new Uint32Array(u);
  const weights = new Float64Array(u);
  let at = -1;
  for (let i = 0; i < count; i++) {
    if (i === 0 || all[i] !== all[i - 1]) codes[++at] = all[i]!;
    weights[at] += 1;
  }
  const values = new Float64Array(3 * u);
  for (let i = 0; i < u; i++) values.set(mortonDecode(codes[i]!), 3 * i);
  return { channels, values, codes, weights };
}

/**
 * k-means++ (Arthur & Vassilvitskii): the first centroid drawn with probability ∝ weight, each next
 * one ∝ weight · (squared distance to the nearest centroid so far). Needs k <= number of points.
 * Returns (k×C) row-major.
 */
export function kMeansPlusPlus(points: WeightedPoints, k: number, rng: Rng): Float64Array {
  const c = points.channels;
  const u = points.weights.length;
  if (k > u) throw new RangeError(`k-means++: k = ${k} exceeds the ${u} distinct values`);
  const x = points.values;
  const centroids = new Float64Array(k * c);
  const nearest = new Float64Array(u).fill(Infinity);
  const mass = new Float64Array(u);
  for (let t = 0; t < k; t++) {
    for (let i = 0; i < u; i++) mass[i] = t === 0 ? points.weights[i]! : points.weights[i]! * nearest[i]!;
    const p = drawIndex(mass, rng);
    for (let ch = 0; ch < c; ch++) centroids[t * c + ch] = x[p * c + ch]!;
    for (let i = 0; i < u; i++) {
      let d = 0;
      for (let ch = 0; ch < c; ch++) {
        const diff = x[i * c + ch]! - x[p * c + ch]!;
        d += diff * diff;
      }
      if (d < nearest[i]!) nearest[i] = d;
    }
  }
  return centroids;
}

/** An index drawn with probability ∝ mass (non-negative, not all zero). */
function drawIndex(mass: Float64Array, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < mass.length; i++) total += mass[i]!;
  if (!(total > 0)) throw new Error("k-means++: no point left to draw (all at distance 0)");
  const target = rng.next() * total;
  let acc = 0;
  let lastPositive = -1;
  for (let i = 0; i < mass.length; i++) {
    if (mass[i]! > 0) {
      acc += mass[i]!;
      lastPositive = i;
      if (acc > target) return i;
    }
  }
  return lastPositive; // rounding left target >= the running total
}

export interface LloydOptions {
  /** Most Lloyd updates. */
  readonly maxIter: number;
  /** Stop once no centroid moves more than this (Euclidean, in 0..255 units). */
  readonly tol: number;
}

export interface KMeansResult {
  /** (k×C) row-major. */
  readonly centroids: Float64Array;
  /** Lloyd updates done. */
  readonly iterations: number;
  /** Stopped at a fixed point (assignments unchanged) or below `tol`, rather than at maxIter. */
  readonly converged: boolean;
  /** Σ weight · squared distance to the nearest final centroid. */
  readonly inertia: number;
  /** How many times an empty cluster was re-seeded. */
  readonly reseeded: number;
}

/** Lloyd iterations from `initial` ((k×C) row-major, not modified). */
export function lloyd(points: WeightedPoints, initial: Float64Array, options: LloydOptions): KMeansResult {
  const c = points.channels;
  const u = points.weights.length;
  const k = initial.length / c;
  const x = points.values;
  let centroids = initial.slice();
  const assign = new Int32Array(u);
  const previous = new Int32Array(u);
  const dist = new Float64Array(u);
  assignNearest(points, centroids, assign, dist);
  let iterations = 0;
  let converged = false;
  let reseeded = 0;
  while (iterations < options.maxIter) {
    // Update: the weighted mean of each cluster (exact sums of integers).
    const sums = new Float64Array(k * c);
    const counts = new Float64Array(k);
    for (let i = 0; i < u; i++) {
      const j = assign[i]!;
      const w = points.weights[i]!;
      counts[j] += w;
      for (let ch = 0; ch < c; ch++) sums[j * c + ch] += w * x[i * c + ch]!;
    }
    const next = new Float64Array(k * c);
    const empty: number[] = [];
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0) empty.push(j);
      else for (let ch = 0; ch < c; ch++) next[j * c + ch] = sums[j * c + ch]! / counts[j]!;
    }
    reseedEmptyClusters(points, next, empty, dist);
    reseeded += empty.length;
    let shift = 0;
    for (let j = 0; j < k; j++) {
      let d = 0;
      for (let ch = 0; ch < c; ch++) {
        const move = next[j * c + ch]! - centroids[j * c + ch]!;
        d += move * move;
      }
      shift = Math.max(shift, Math.sqrt(d));
    }
    centroids = next;
    iterations++;
    previous.set(assign);
    assignNearest(points, centroids, assign, dist);
    if ((empty.length === 0 && sameArray(assign, previous)) || shift <= options.tol) {
      converged = true;
      break;
    }
  }
  let inertia = 0;
  for (let i = 0; i < u; i++) inertia += points.weights[i]! * dist[i]!;
  return { centroids, iterations, converged, inertia, reseeded };
}

/**
 * Re-seeds each empty cluster (ascending) at the point farthest from its current centroid
 * (`dist`, from the last assignment; ties to the lower point index), each point used once.
 * Writes into `centroids` ((k×C) row-major); marks used points in `dist` with -1. Returns the points used.
 */
export function reseedEmptyClusters(points: WeightedPoints, centroids: Float64Array, empty: readonly number[], dist: Float64Array): number[] {
  const c = points.channels;
  const used: number[] = [];
  for (const j of empty) {
    let far = -1;
    for (let i = 0; i < dist.length; i++) if (dist[i]! > 0 && (far < 0 || dist[i]! > dist[far]!)) far = i;
    if (far < 0) throw new Error(`k-means: cluster ${j} is empty and every point sits on a centroid (k exceeds the distinct values)`);
    for (let ch = 0; ch < c; ch++) centroids[j * c + ch] = points.values[far * c + ch]!;
    dist[far] = -1;
    used.push(far);
  }
  return used;
}

function sameArray(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
