// The usual split of a model's parameters for AdamW: weight matrices and kernels of Linear and
// Conv2d layers decay; biases, normalisation scales, embeddings and any other parameter do not.
import type { Tensor } from "../tensor.ts";
import { Module } from "../nn/module.ts";
import { Linear } from "../nn/linear.ts";
import { Conv2d } from "../nn/conv2d.ts";

export interface WeightDecayGroup {
  params: Tensor[];
  weightDecay: number;
}

/** [{ params: Linear/Conv2d weights, weightDecay }, { params: everything else, weightDecay: 0 }] */
export function weightDecayGroups(model: Module, weightDecay: number): [WeightDecayGroup, WeightDecayGroup] {
  const decay = new Set<Tensor>();
  for (const m of model.modules()) if (m instanceof Linear || m instanceof Conv2d) decay.add(m.weight);
  const params = model.parameters();
  return [
    { params: params.filter((p) => decay.has(p)), weightDecay },
    { params: params.filter((p) => !decay.has(p)), weightDecay: 0 },
  ];
}
