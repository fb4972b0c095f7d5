// Random resized crop (the strong view's first step): torchvision's RandomResizedCrop.get_params
// for the box, then a bilinear resize of the box back to the image size (align_corners = false),
// with the horizontal flip folded in — for the whole batch at once.
//
// The resize is separable: output row y reads rows y0, y1 of its box with weights (1−a, a), output
// column x reads columns x0, x1 with (1−b, b). The indices and weights are computed in JS exactly as
// PyTorch's upsample_bilinear2d computes them for the cropped box (source = scale·(dst + 0.5) − 0.5,
// clamped at 0, the far neighbour clamped at the box's last row/column), so the result is
// torchvision's resized_crop(img, top, left, h, w, size) — no sampling outside the box, unlike a
// grid_sample over the whole image — and an identity box is an exact copy. On the tensors: two
// gathers along each uint8 row (the index shared by a sample's rows) and one lerp for the columns,
// then two index_selects of whole rows and one lerp for the rows. (Per-element 4-d gathers and
// aten::lerp with a broadcast weight are several times slower on CPU.)
import { Tensor, tensor, tidy } from "../../torch/index.ts";
import type { Rng } from "../rng.ts";
import { batchShape, checkSampleCount } from "./images.ts";

/** A crop box in input pixels (torchvision's i, j, h, w). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's round(): halves go to the even neighbour (as torchvision's int(round(...))). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 attempts of area fraction ~ U[scale] and
 * aspect ratio ~ exp(U[log ratio]); w = round(√(area·ratio)), h = round(√(area/ratio)); the first box
 * that fits is placed uniformly. If none fits: the central crop at the nearest allowed aspect ratio
 * (the whole image when its own ratio is allowed).
 */
export function sampleCropBox(height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number], rng: Rng): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(0, height - h + 1), left: rng.int(0, width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * For an output axis of length `out` reading a box [start, start + length) of the input: the two
 * source indices and the weight of the second, per output position (PyTorch's bilinear rule with
 * align_corners = false). `mirror` reverses the output order (a flip after the resize).
 */
function axisTaps(start: number, length: number, out: number, mirror: boolean, i0: Int32Array, i1: Int32Array, w1: Float32Array, offset: number): void {
  const scale = length / out;
  for (let d = 0; d < out; d++) {
    const src = Math.max(scale * (d + 0.5) - 0.5, 0);
    const lo = Math.min(Math.floor(src), length - 1);
    const k = offset + (mirror ? out - 1 - d : d);
    i0[k] = start + lo;
    i1[k] = start + Math.min(lo + 1, length - 1);
    w1[k] = lo + 1 < length ? src - lo : 0;
  }
}

/** Checks that a crop box lies inside an H×W image. */
export function checkCropBox(what: string, box: CropBox, height: number, width: number): void {
  const { top, left, height: h, width: w } = box;
  if (![top, left, h, w].every(Number.isInteger) || top < 0 || left < 0 || h < 1 || w < 1 || top + h > height || left + w > width) {
    throw new RangeError(`${what}: crop box must be integers inside the ${height}×${width} image, got top ${top}, left ${left}, height ${h}, width ${w}`);
  }
}

/**
 * Crops each uint8 image (B, H, W, C) to its box, resizes it bilinearly to H×W and mirrors it when
 * flips[b]; returns float32 (B, H, W, C) in [0, 255] (not rounded).
 */
export function resizedCropFlip(images: Tensor, boxes: readonly CropBox[], flips: readonly boolean[]): Tensor {
  const { batch: B, height: H, width: W, channels: C } = batchShape("resizedCropFlip", images);
  checkSampleCount("resizedCropFlip", boxes, B);
  checkSampleCount("resizedCropFlip", flips, B);
  boxes.forEach((box, b) => checkCropBox(`resizedCropFlip: sample ${b}`, box, H, W));
  const y0 = new Int32Array(B * H);
  const y1 = new Int32Array(B * H);
  const wy = new Float32Array(B * H);
  const x0 = new Int32Array(B * W);
  const x1 = new Int32Array(B * W);
  const wx = new Float32Array(B * W);
  let identity = true;
  boxes.forEach((box, b) => {
    axisTaps(box.top, box.height, H, false, y0, y1, wy, b * H);
    axisTaps(box.left, box.width, W, flips[b]!, x0, x1, wx, b * W);
    identity &&= box.height === H && box.width === W && !flips[b];
  });
  if (identity) return images.float();
  return tidy(() => {
    const device = images.device;
    // Columns first, on uint8: one gather along W·C per tap, the index shared by all rows of a sample.
    const byRow = images.reshape([B, H, W * C]);
    const pickColumns = (idx: Int32Array): Tensor => {
      const index = new Int32Array(B * W * C); // column x, channel c of a row is element x·C + c
      for (let i = 0; i < B * W; i++) for (let c = 0; c < C; c++) index[i * C + c] = idx[i]! * C + c;
      return byRow.gather(2, tensor(index, { shape: [B, 1, W * C], device }).long().expand([B, H, W * C])).float();
    };
    const columnWeights = new Float32Array(B * W * C);
    for (let i = 0; i < B * W * C; i++) columnWeights[i] = wx[Math.floor(i / C)]!;
    const columns = pickColumns(x0); // (B, H, W·C) float
    blend_(columns, pickColumns(x1), tensor(columnWeights, { shape: [B, 1, W * C], device }));
    // Rows: whole rows of the (B·H, W·C) view, picked by index_select (sample b's row i is b·H + i).
    const rowView = columns.reshape([B * H, W * C]);
    const pickRows = (idx: Int32Array): Tensor => rowView.indexSelect(0, tensor(idx.map((v, i) => Math.floor(i / H) * H + v), { device }).long());
    const out = pickRows(y0);
    blend_(out, pickRows(y1), tensor(wy, { shape: [B * H, 1], device }));
    return out.reshape([B, H, W, C]);
  });
}

/** a ← a + w·(b − a), overwriting b: a lerp in place (aten::lerp_ with a broadcast weight is several times slower on CPU). */
function blend_(a: Tensor, b: Tensor, w: Tensor): void {
  a.add_(b.sub_(a).mul_(w));
}
