// Dropout: zeroes each element with probability p and scales the rest by 1/(1−p) while training;
// the identity in eval mode (PyTorch's nn.Dropout).
import { Tensor } from "../tensor.ts";
import { argError } from "../errors.ts";
import { Module } from "./module.ts";

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(typeof p === "number" && p >= 0 && p <= 1)) argError("Dropout", "p", "a probability in [0, 1]", p);
  }

  /** any shape -> same shape (a new tensor; its values equal x's in eval mode or with p = 0) */
  forward(x: Tensor): Tensor {
    return x.dropout(this.p, this.training && this.p > 0);
  }
}
