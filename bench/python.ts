// Runs a snippet under Debian's PyTorch (/usr/bin/python3) when it is importable, for
// side-by-side reference figures. The project never depends on Python: without it, the
// benchmarks print their own figures and say the reference is unavailable.
import { spawnSync } from "node:child_process";

const PYTHON = process.env.GCRL_PYTHON ?? "/usr/bin/python3";

let available: boolean | undefined;

export function pythonTorchAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 });
    available = r.status === 0;
  }
  return available;
}

/** Runs Python code that prints one JSON object on its last line; returns it (null without PyTorch). */
export function runPythonJson<T>(code: string, env: Record<string, string> = {}, timeoutMs = 600_000): T | null {
  if (!pythonTorchAvailable()) return null;
  const r = spawnSync(PYTHON, ["-c", code], { encoding: "utf8", env: { ...process.env, ...env }, timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`python reference failed: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}
