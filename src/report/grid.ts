// Image grids: rows of equally sized images, scaled up (nearest neighbour) with gaps between
// cells, as one raw image ready for writePng. Used by `gcrl data preview`, sample and completion
// pictures.
import type { Tensor } from "../torch/index.ts";
import type { RawImage } from "./png.ts";

export interface GridOptions {
  /** Integer upscaling factor (default 3). */
  scale?: number;
  /** Gap between cells in output pixels (default 2). */
  gap?: number;
  /** Gap colour, 0..255 (default 255, white). */
  background?: number;
}

/**
 * rows[r] is uint8 (n, H, W, C); every row has the same H, W, C (n may differ: short rows are left
 * blank at the end). Grayscale rows are drawn in RGB when any row is RGB.
 */
export function imageGrid(rows: readonly Tensor[], options: GridOptions = {}): RawImage {
  const scale = options.scale ?? 3;
  const gap = options.gap ?? 2;
  const bg = options.background ?? 255;
  if (rows.length === 0) throw new RangeError("imageGrid: no rows");
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`imageGrid: scale must be a positive integer, got ${scale}`);
  const shapes = rows.map((r) => r.shape);
  const [, h, w] = shapes[0] as [number, number, number, number];
  for (const [i, s] of shapes.entries()) {
    if (s.length !== 4 || s[1] !== h || s[2] !== w || (s[3] !== 1 && s[3] !== 3) || rows[i]!.dtype !== "uint8") {
      throw new TypeError(`imageGrid: row ${i} must be uint8 (n, ${h}, ${w}, 1|3), got ${rows[i]!.toString()}`);
    }
  }
  const channels: 1 | 3 = shapes.some((s) => s[3] === 3) ? 3 : 1;
  const cols = Math.max(...shapes.map((s) => s[0]!));
  const cellW = w * scale;
  const cellH = h * scale;
  const width = cols * cellW + (cols + 1) * gap;
  const height = rows.length * cellH + (rows.length + 1) * gap;
  const out = new Uint8Array(width * height * channels).fill(bg);
  rows.forEach((row, r) => {
    const c = row.shape[3]!;
    const pixels = row.toTypedArray<"uint8">(); // a row-major copy whatever the layout
    const n = row.shape[0]!;
    for (let k = 0; k < n; k++) {
      const x0 = gap + k * (cellW + gap);
      const y0 = gap + r * (cellH + gap);
      for (let y = 0; y < cellH; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < cellW; x++) {
          const src = ((k * h + sy) * w + Math.floor(x / scale)) * c;
          const dst = ((y0 + y) * width + x0 + x) * channels;
          for (let ch = 0; ch < channels; ch++) out[dst + ch] = pixels[src + (c === 1 ? 0 : ch)]!;
        }
      }
    }
  });
  return { data: out, width, height, channels };
}
