// PNG files from raw pixels (encoded by sharp), written atomically (temporary file + rename).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";
import sharp from "sharp";

export interface RawImage {
  /** Row-major pixels, `channels` bytes per pixel. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: 1 | 3;
}

export async function encodePng(image: RawImage): Promise<Buffer> {
  const { data, width, height, channels } = image;
  if (data.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${data.length} bytes do not make a ${width}×${height}×${channels} image`);
  }
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } }).png().toBuffer();
}

/** Writes a PNG atomically; creates the directory if needed. */
export async function writePng(path: string, image: RawImage): Promise<void> {
  const png = await encodePng(image);
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileAtomic(path, png);
  } catch (err) {
    throw new Error(`cannot write ${path}: ${(err as Error).message}`);
  }
}
