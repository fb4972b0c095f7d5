// --device: checked before anything is loaded or written, so that `--device cuda` on a CPU-only
// libtorch build is one line naming the option, not a failure halfway through a run.
import { checkDevice, TorchError } from "../torch/index.ts";
import { InputError } from "../util/input-error.ts";

/** The device of option --`name` ("cpu", "cuda", "cuda:N") when it exists here; otherwise an InputError saying why. */
export function deviceOption(value: string, name = "device"): string {
  try {
    return checkDevice(`--${name}`, value);
  } catch (err) {
    if (err instanceof TorchError) throw new InputError(`--${name} ${value}: ${err.detail}`);
    throw err;
  }
}
