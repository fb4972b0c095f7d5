// `npm run bench [-- section...]`: runs the benchmarks and prints figures and ratios.
// Sections: engine, kernels, palette, augment, train, inference, sampling, distributed, train-device
// (a GPU's; skipped without CUDA). With no argument, all sections run.
import { benchEngine } from "./engine.ts";
import { benchKernels } from "./kernels.ts";
import { benchPalette } from "./data-palette.ts";
import { benchAugment } from "./data-augment.ts";
import { benchTrain } from "./train.ts";
import { benchInference } from "./inference.ts";
import { benchSampling } from "./sampling.ts";
import { benchDistributed } from "./distributed.ts";
import { benchTrainDevice } from "./train-device.ts";

const sections: Record<string, () => void | Promise<void>> = {
  engine: benchEngine,
  kernels: benchKernels,
  palette: benchPalette,
  augment: benchAugment,
  train: benchTrain,
  inference: benchInference,
  sampling: benchSampling,
  distributed: benchDistributed,
  "train-device": benchTrainDevice,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
for (const name of wanted) {
  if (!(name in sections)) {
    console.error(`bench: unknown section '${name}'; known: ${Object.keys(sections).join(", ")}`);
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
