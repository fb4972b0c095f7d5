// Scratch profile (issue 17): one training step of the reference model in fp32 and in bf16 on the
// fast kernels, forward operator calls timed by name (bench/train.ts's OpProfile), plus the
// forward / backward / optimizer split. Usage: node --import tsx bench/profile-precision.ts [steps] [fp32,bf16]
import { setNumThreads } from "../src/torch/index.ts";
import { ourTrainer, trainBenchSetup, OpProfile } from "./train.ts";

setNumThreads(2);
const steps = Number(process.argv[2] ?? 1);
const ours = ourTrainer(trainBenchSetup());
for (const precision of (process.argv[3] ?? "fp32,bf16").split(",") as ("fp32" | "bf16")[]) {
  ours.step("fast", precision);
  const ops = new OpProfile();
  ops.install();
  ops.on = true;
  const ts = [];
  for (let s = 0; s < steps; s++) ts.push(ours.step("fast", precision));
  ops.on = false;
  ops.uninstall();
  const t = ts[ts.length - 1]!;
  console.log(`${precision}: step ${t.wall.toFixed(2)} s (forward ${t.forward.toFixed(2)}, backward ${t.backward.toFixed(2)}, optimizer ${t.optimizer.toFixed(2)})`);
  ops.print(steps);
}
ours.dispose();
