// ProjectionHead: the SimCLR head g(r) = Linear(d, d) → ReLU → Linear(d, p), whose output is
// unit-normalised before the contrastive loss. A Sequential, so its keys are "0.weight",
// "0.bias", "2.weight", "2.bias" as in PyTorch's nn.Sequential(Linear, ReLU, Linear).
import { Module, Sequential, Linear, Tensor, normalize, widenBf16, type UnaryModule } from "../torch/index.ts";

/** ReLU as a (parameter-free) module, so it can sit in a Sequential. */
export class Relu extends Module implements UnaryModule {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class ProjectionHead extends Sequential {
  constructor(d: number, projectionDim: number) {
    super(new Linear(d, d), new Relu(), new Linear(d, projectionDim));
  }

  /** representation (N, d) → z (N, projectionDim), each row of unit L2 norm, float32 under bf16 precision too. */
  project(representation: Tensor): Tensor {
    return normalize(widenBf16(this.forward(representation)), 2, -1);
  }
}
