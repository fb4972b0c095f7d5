// Neural-network building blocks: the Module base, layers and initialisation.
export { Module, ModuleList, Sequential, type UnaryModule, type LoadStateDictOptions, type LoadStateDictResult } from "./module.ts";
export { type LayerOptions } from "./layer-options.ts";
export { Linear, type LinearOptions } from "./linear.ts";
export { LayerNorm, type LayerNormOptions } from "./layer-norm.ts";
export { Embedding } from "./embedding.ts";
export { Conv2d, type Conv2dLayerOptions } from "./conv2d.ts";
export { Dropout } from "./dropout.ts";
export { uniformInit_, normalInit_, kaimingUniformInit_, kaimingUniformBound, fanIn } from "./init.ts";
