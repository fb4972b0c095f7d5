// A class-stratified random split of labelled examples into a training and a validation part, as
// the linear probe needs for choosing its L2 strength: each class c with n_c examples gives
// round(fraction · n_c) of them (at most n_c − 1, so no class leaves the training part) to the
// validation part, chosen by the seeded Rng (one permutation per class, classes in label order).
// The same (labels, fraction, seed) always gives the same split; indices come back sorted.
import { Rng } from "../data/rng.ts";

export interface StratifiedSplit {
  /** Indices of the training part, ascending. */
  train: Int32Array;
  /** Indices of the validation part, ascending. */
  validation: Int32Array;
}

export function stratifiedSplit(labels: ArrayLike<number>, fraction: number, seed: number): StratifiedSplit {
  if (!(typeof fraction === "number" && fraction > 0 && fraction < 1)) throw new RangeError(`stratifiedSplit: fraction must be a number in (0, 1), got ${fraction}`);
  if (!Number.isFinite(seed)) throw new RangeError(`stratifiedSplit: seed must be a finite number, got ${seed}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0) throw new RangeError(`stratifiedSplit: labels must be integers >= 0, got ${l} at [${i}]`);
    let list = byClass.get(l);
    if (list === undefined) byClass.set(l, (list = []));
    list.push(i);
  }
  const rng = new Rng(seed);
  const held = new Uint8Array(labels.length);
  let heldCount = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(c)!;
    const count = Math.min(Math.round(fraction * members.length), members.length - 1);
    const perm = rng.permutation(members.length);
    for (let k = 0; k < count; k++) held[members[perm[k]!]!] = 1;
    heldCount += count;
  }
  const train = new Int32Array(labels.length - heldCount);
  const validation = new Int32Array(heldCount);
  let t = 0;
  let v = 0;
  for (let i = 0; i < labels.length; i++) {
    if (held[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}
