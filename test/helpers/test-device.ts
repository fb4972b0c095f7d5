// The device the device-sensitive tests (test/model/device.test.ts) put their models on:
// GCRL_TEST_DEVICE, "cpu" by default; scripts/cuda-check.sh sets "cuda" on a GPU machine. A device
// this libtorch cannot use (CUDA on a CPU-only build) fails the test file at once, naming the
// variable, rather than quietly testing the CPU again.
import { checkDevice } from "../../src/torch/index.ts";

export const TEST_DEVICE: string = checkDevice("GCRL_TEST_DEVICE", process.env.GCRL_TEST_DEVICE ?? "cpu");
