// The encoder over the top rows of an image only (axial models): what the row-by-row sampler
// needs to get the context of row i, which depends on h_enc row i−1 alone.
//
// In the axial layout every encoder layer is an unmasked row block (attention within a row) then a
// causal column block (row r attends to rows ≤ r), so h_enc rows 0..r−1 are a function of image
// rows 0..r−1 only, and running the encoder on the (B, r, W) prefix gives them exactly (up to float
// rounding: the matmuls are shaped differently). Sampling row i then costs an encoder pass over i
// rows instead of H: about half the encoder work of the whole image, summed over the rows.
//
//   e_prefix = tok[x[:, :r]] + row[:r] + col        (B, r, W, d)
//   h_prefix = encoder blocks (e_prefix)            (B, r, W, d) = h_enc[:, :r]
//
// This mirrors GCRLModel.embed and its encoder loop restricted to r rows (GCRLModel has no prefix
// entry point); test/eval/sampling.test.ts checks it against model.encode.
import { Tensor, tidy } from "../torch/index.ts";
import type { GCRLModel } from "../model/gcrl-model.ts";

/** tokens int64 (B, r, W) holding image rows 0..r−1 (1 ≤ r ≤ H) → h_enc rows 0..r−1 (B, r, W, d). */
export function encodeRowPrefix(model: GCRLModel, tokens: Tensor): Tensor {
  const { height: h, width: w, attention } = model.config;
  if (attention !== "axial") throw new Error(`encodeRowPrefix: needs attention "axial" (got "${attention}"): a dense encoder has no row structure`);
  const r = tokens.shape[1]!;
  if (tokens.ndim !== 3 || r < 1 || r > h || tokens.shape[2] !== w || (tokens.dtype !== "int64" && tokens.dtype !== "int32")) {
    throw new TypeError(`encodeRowPrefix: expected tokens int64 of shape (B, r, ${w}) with 1 <= r <= ${h}, got ${tokens.toString()}`);
  }
  return tidy(() => {
    let x = model.tok.forward(tokens).add(model.row.narrow(0, 0, r)).add(model.col); // (B, r, W, d)
    for (const block of model.enc) x = block.forward(x);
    return x;
  });
}
