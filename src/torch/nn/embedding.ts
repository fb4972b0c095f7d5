// Embedding: a learned table of vectors looked up by integer index (PyTorch's nn.Embedding).
import { Tensor } from "../tensor.ts";
import { empty } from "../create.ts";
import { embedding } from "../functional.ts";
import { argError } from "../errors.ts";
import { Module } from "./module.ts";
import { normalInit_ } from "./init.ts";
import { checkPositiveInt, createOptions, type LayerOptions } from "./layer-options.ts";

export class Embedding extends Module {
  /** (numEmbeddings, embeddingDim) ~ N(0, 1). */
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: LayerOptions = {}) {
    super();
    checkPositiveInt("Embedding", "numEmbeddings", numEmbeddings);
    checkPositiveInt("Embedding", "embeddingDim", embeddingDim);
    const create = createOptions(options);
    this.weight = this.param("weight", normalInit_(empty([numEmbeddings, embeddingDim], create)));
  }

  /** integer indices (...) -> (..., embeddingDim) */
  forward(indices: Tensor): Tensor {
    const d = indices.dtype;
    if (d !== "int64" && d !== "int32") argError("Embedding.forward", "indices", "an int64 or int32 tensor", indices);
    return embedding(this.weight, indices);
  }
}
