// The shifts that make the decoder autoregressive: each moves information one step forward in
// raster order so that the input at a position carries nothing of that position's own pixel.
// All three are exact copies (no arithmetic), so causality holds bit for bit.
import { Tensor, cat, pad, zeros } from "../torch/index.ts";

/**
 * shift_right: x (B, H, W, d) → y with y[:, i, j] = x[:, i, j−1] and y[:, i, 0] = start (d).
 * Within each row, position j gets what belonged to pixel (i, j−1).
 */
export function shiftRight(x: Tensor, start: Tensor): Tensor {
  const [b, h, w, d] = x.shape as [number, number, number, number];
  return cat([start.view([1, 1, 1, d]).expand([b, h, 1, d]), x.narrow(2, 0, w - 1)], 2);
}

/** shift_down: x (B, H, W, d) → y with y[:, i] = x[:, i−1] and y[:, 0] = 0. Row i gets row i−1. */
export function shiftDown(x: Tensor): Tensor {
  const h = x.shape[1]!;
  return pad(x, [0, 0, 0, 0, 1, 0]).narrow(1, 0, h);
}

/**
 * shift by one step in raster order: x (B, H, W, d) → y with y at raster position t = i·W + j
 * holding x at t − 1, and y at t = 0 holding `first` (d), or zeros when first is null.
 */
export function shiftRaster(x: Tensor, first: Tensor | null): Tensor {
  const [b, h, w, d] = x.shape as [number, number, number, number];
  const seq = x.reshape([b, h * w, d]);
  const head = first === null ? zeros([b, 1, d], { dtype: x.dtype, device: x.device }) : first.view([1, 1, d]).expand([b, 1, d]);
  return cat([head, seq.narrow(1, 0, h * w - 1)], 1).view([b, h, w, d]);
}
