// SVG files and their PNG renderings (sharp/librsvg), both written atomically (temporary file +
// rename) so a report never links a half-written picture. Malformed SVG is an error, not a blank PNG.
import { dirname } from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { makeFolder } from "../util/input-error.ts";

export interface SvgPngOptions {
  /** Pixel scale relative to the SVG's width/height (default 1; 2 for sharp text on high-DPI screens). */
  scale?: number;
}

/** Renders an SVG string to PNG bytes: width × scale by height × scale pixels (rounded). */
export async function renderSvgPng(svg: string, options: SvgPngOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? 1;
  if (typeof scale !== "number" || !(scale > 0 && scale <= 8)) throw new RangeError(`renderSvgPng: scale must be a number in (0, 8], got ${scale}`);
  if (typeof svg !== "string" || !/<svg[\s>]/.test(svg)) throw new TypeError("renderSvgPng: expected an SVG document string (with an <svg> element)");
  try {
    // librsvg renders at 72 dpi by default: density 72·scale gives scale pixels per SVG unit
    return await sharp(Buffer.from(svg, "utf8"), { density: 72 * scale }).png().toBuffer();
  } catch (err) {
    throw new Error(`renderSvgPng: the SVG could not be rendered: ${(err as Error).message}`);
  }
}

/** Renders `svg` and writes it as a PNG at `path` (directories created as needed). */
export async function writeSvgPng(path: string, svg: string, options: SvgPngOptions = {}): Promise<void> {
  const png = await renderSvgPng(svg, options);
  makeFolder(dirname(path));
  writeFileAtomic(path, png); // a failed write is a FileError naming the path
}

/** Writes the SVG text itself at `path` (UTF-8, directories created as needed). */
export function writeSvg(path: string, svg: string): void {
  if (typeof svg !== "string" || !/<svg[\s>]/.test(svg)) throw new TypeError("writeSvg: expected an SVG document string (with an <svg> element)");
  makeFolder(dirname(path));
  writeFileAtomic(path, svg); // a failed write is a FileError naming the path
}
