// PNG files from raw pixels (encoded by sharp), written atomically (temporary file + rename).
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { makeFolder } from "../util/input-error.ts";
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

/**
 * Writes a PNG atomically; creates the directory if needed. A folder that cannot be created or a
 * failed write (full disk, no permission) is a FileError naming the path.
 */
export async function writePng(path: string, image: RawImage): Promise<void> {
  const png = await encodePng(image);
  makeFolder(dirname(path));
  writeFileAtomic(path, png);
}
