// --device: checked before anything is loaded or written, so that `--device cuda` on a CPU-only
// libtorch build is one line naming the option, not a failure halfway through a run.
import { checkDevice, TorchError } from "../torch/index.ts";
import { InputError } from "../util/input-error.ts";
import type { OptionSpec } from "./args.ts";

/** The --device option of every command that runs a model (`note` adds to its help). */
export function deviceOptionSpec(note = ""): OptionSpec & { type: "string"; default: string } {
  return { type: "string", default: "cpu", value: "DEVICE", help: `cpu, cuda or cuda:N${note}` };
}

/** The device of option --`name` ("cpu", "cuda", "cuda:N") when it exists here; otherwise an InputError saying why. */
export function deviceOption(value: string, name = "device"): string {
  try {
    return checkDevice(`--${name}`, value);
  } catch (err) {
    if (err instanceof TorchError) throw new InputError(`--${name} ${value}: ${err.detail}`);
    throw err;
  }
}
