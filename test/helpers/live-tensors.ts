// Counts live Tensor wrappers (created and not yet disposed) by wrapping Tensor.fromHandle, the
// single place every tensor is born, and Tensor.prototype.dispose. For leak tests: a count that
// grows from one training step to the next means some tensor escapes its tidy() scope.
import { Tensor } from "../../src/torch/index.ts";
import type { Handle } from "../../src/torch/native.ts";

let live = 0;
let installed = false;

/** Starts counting (idempotent); tensors created before this call are not counted. */
export function countLiveTensors(): void {
  if (installed) return;
  installed = true;
  const fromHandle = Tensor.fromHandle.bind(Tensor);
  Tensor.fromHandle = (handle: Handle): Tensor => {
    live++;
    return fromHandle(handle);
  };
  const dispose = Tensor.prototype.dispose;
  Tensor.prototype.dispose = function (this: Tensor): void {
    if (!this.isDisposed) live--;
    dispose.call(this);
  };
}

/** Tensors created since countLiveTensors() minus those disposed since. */
export function liveTensorCount(): number {
  if (!installed) throw new Error("liveTensorCount: call countLiveTensors() first");
  return live;
}
