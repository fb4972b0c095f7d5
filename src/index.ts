// The gcrl package. The tensor engine is exported as a namespace (`import { torch } from "gcrl"`)
// and also at the top level for convenience.
export * as torch from "./torch/index.ts";
