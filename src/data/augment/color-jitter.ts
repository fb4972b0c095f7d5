// Color jitter with its four operations in a per-sample order (torchvision ColorJitter draws a new
// permutation for every image; so does SimCLR). Batched as four "slots": at slot k each sample gets
// the k-th operation of its own order; the batch is regrouped (one row gather) so samples sharing
// that operation are contiguous, each operation runs once, in place, on its group (a narrow view),
// and the original order is restored at the end. Every operation thus touches each image once: the
// cost of a fixed order plus one row gather per slot. Identity factors and operations that do not
// apply (saturation and hue on grayscale images) are skipped.
import { Tensor, tidy, tensor } from "../../torch/index.ts";
import { JITTER_OPS, type JitterOp } from "./config.ts";
import { adjustBrightness_, adjustContrast_, adjustHue_, adjustSaturation_ } from "./color.ts";

/** One sample's color jitter: the factors and the order to apply them in. */
export interface ColorJitterSample {
  /** The operations in the order they are applied (a permutation of some of JITTER_OPS). */
  order: JitterOp[];
  /** Brightness factor (1 = unchanged). */
  brightness: number;
  /** Contrast factor (1 = unchanged). */
  contrast: number;
  /** Saturation factor (1 = unchanged; RGB only). */
  saturation: number;
  /** Hue shift in turns (0 = unchanged; RGB only). */
  hue: number;
}

const APPLY_IN_PLACE: Record<JitterOp, (x: Tensor, factors: number[]) => Tensor> = {
  brightness: adjustBrightness_,
  contrast: adjustContrast_,
  saturation: adjustSaturation_,
  hue: adjustHue_,
};

function isNoop(j: ColorJitterSample, op: JitterOp, channels: number): boolean {
  if (op === "hue") return j.hue === 0 || channels === 1;
  if (op === "saturation" && channels === 1) return true;
  return j[op] === 1;
}

/**
 * Applies each sample's jitter (null: none) to float images x (B, H, W, C) in [0, 255] and returns
 * the result (B, H, W, C): x itself, changed in place, or a new tensor (x then holds intermediate
 * values). For a tensor you own; applyColorJitter leaves its input alone.
 */
export function applyColorJitter_(x: Tensor, jitters: readonly (ColorJitterSample | null)[]): Tensor {
  const B = x.size(0);
  const C = x.size(-1);
  const slots = Math.max(0, ...jitters.map((j) => j?.order.length ?? 0));
  return tidy(() => {
    let cur = x;
    let at = Int32Array.from({ length: B }, (_, i) => i); // at[position] = sample now at that position
    for (let slot = 0; slot < slots; slot++) {
      // Group positions by this slot's operation (index 4: nothing to do), keeping their order.
      const groups: number[][] = [[], [], [], [], []];
      for (let pos = 0; pos < B; pos++) {
        const j = jitters[at[pos]!];
        const op = j?.order[slot];
        groups[op === undefined || isNoop(j!, op, C) ? 4 : JITTER_OPS.indexOf(op)]!.push(pos);
      }
      if (groups[4]!.length === B) continue;
      const perm = groups.flat();
      if (perm.some((p, i) => p !== i)) {
        const previous = cur;
        cur = cur.indexSelect(0, tensor(Int32Array.from(perm), { device: cur.device }).long());
        if (previous !== x) previous.dispose();
        at = Int32Array.from(perm, (p) => at[p]!);
      }
      let start = 0;
      groups.forEach((group, g) => {
        if (group.length > 0 && g < 4) {
          const op = JITTER_OPS[g]!;
          const piece = group.length === B ? cur : cur.narrow(0, start, group.length);
          APPLY_IN_PLACE[op](piece, Array.from(at.subarray(start, start + group.length), (s) => jitters[s]![op]));
        }
        start += group.length;
      });
    }
    if (at.some((s, i) => s !== i)) {
      const inverse = new Int32Array(B);
      at.forEach((s, pos) => (inverse[s] = pos));
      cur = cur.indexSelect(0, tensor(inverse, { device: cur.device }).long());
    }
    return cur;
  });
}

/** applyColorJitter_ on a copy: x is left as it is. */
export function applyColorJitter(x: Tensor, jitters: readonly (ColorJitterSample | null)[]): Tensor {
  return tidy(() => applyColorJitter_(x.clone(), jitters));
}
