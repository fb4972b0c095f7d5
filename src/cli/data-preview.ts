// `gcrl data preview`: a PNG grid with rows original / quantized / weak / strong, so a user can see
// what the model will see (docs/data.md).
import { loadDataset, datasetInfo, defaultPaletteSize } from "../data/datasets/index.ts";
import { PaletteQuantizer } from "../data/palette.ts";
import { previewRows } from "../data/preview.ts";
import { imageGrid } from "../report/grid.ts";
import { writePng } from "../report/png.ts";
import { disposeSet, imageShape } from "../data/image-set.ts";
import { intOption, parseCommandLine, runCommand, splitOption, type OptionTable } from "./args.ts";

const OPTIONS = {
  data: { type: "string", default: "fashion-mnist", value: "NAME", help: "dataset: fashion-mnist, mnist, mnist-digits, cifar10, cifar100, or folder:PATH" },
  "data-dir": { type: "string", value: "DIR", help: "folder with the dataset's files (default: the dataset's usual place)" },
  split: { type: "string", default: "train", value: "SPLIT", help: "train, test or all" },
  out: { type: "string", default: "preview.png", value: "FILE", help: "the PNG to write" },
  n: { type: "string", default: "12", value: "N", help: "images per row" },
  k: { type: "string", value: "K", help: "palette size (default 16 for grayscale, 512 for RGB)" },
  seed: { type: "string", default: "0", value: "N", help: "seed of the palette fit, the picked images and the augmentations" },
  "fit-images": { type: "string", default: "10000", value: "N", help: "images the palette is fitted on" },
  "no-flip": { type: "boolean", help: "no horizontal flips in either view (digit datasets have none anyway: the dataset's default, as in training)" },
  scale: { type: "string", default: "3", value: "N", help: "upscaling factor of the picture" },
} satisfies OptionTable;

const USAGE = "gcrl data preview [--data NAME] [--out FILE] [options]";
const DESCRIPTION = `Writes a PNG grid: row 1 the original images, row 2 their palette quantization, rows 3 and 4
the weak and strong augmented views after quantization (what the model is trained on).`;

export async function run(argv: string[]): Promise<number> {
  return runCommand("data preview", async () => {
    const parsed = parseCommandLine(argv, OPTIONS, USAGE, DESCRIPTION);
    if (parsed === null) return 0;
    const o = parsed.values;
    const split = splitOption("split", o.split);
    const n = intOption("n", o.n, 1, 256);
    const seed = intOption("seed", o.seed, 0);
    const fitImages = intOption("fit-images", o["fit-images"], 1);
    const scale = intOption("scale", o.scale, 1, 32);
    const info = datasetInfo(o.data); // unknown names fail here with the list of known ones
    const set = await loadDataset({ name: o.data, split, ...(o["data-dir"] ? { dataDir: o["data-dir"] } : {}) });
    const [h, w, c] = imageShape(set);
    const k = o.k === undefined ? defaultPaletteSize(c === 1 ? 1 : 3) : intOption("k", o.k, 2, 4096);
    const fitSet = set.images.narrow(0, 0, Math.min(fitImages, set.images.size(0)));
    const palette = PaletteQuantizer.fit(fitSet, { k, seed });
    fitSet.dispose();
    const flip = info.hflip && !o["no-flip"]; // as a run config's default: off for digits
    const rows = previewRows(set, palette, n, seed, { flip }, { flip });
    await writePng(o.out, imageGrid([rows.original, rows.quantized, rows.weak, rows.strong], { scale }));
    console.log(`${o.out}: ${Math.min(n, set.images.size(0))} images of ${set.source} (${h}×${w}×${c}), palette K=${k}; rows: original / quantized / weak / strong`);
    for (const t of Object.values(rows)) t.dispose();
    palette.dispose();
    disposeSet(set);
    return 0;
  });
}
