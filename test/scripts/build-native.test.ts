// The native build's libtorch search: when nothing is found it stops with a message that gives the
// apt command and the LIBTORCH option; a LIBTORCH that is not a libtorch is named as such; a
// PyTorch wheel's torch/ folder is accepted as LIBTORCH (--dry-run: its paths, CUDA libraries, C++ standard).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const script = new URL("../../scripts/build-native.mjs", import.meta.url).pathname;

function build(env: Record<string, string>): { status: number | null; stderr: string } {
  const base = { ...process.env };
  delete base.LIBTORCH;
  const r = spawnSync(process.execPath, [script], { env: { ...base, GCRL_SYSTEM_LIBTORCH: "0", ...env }, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

test("no libtorch anywhere: the build stops with the apt command and the LIBTORCH option", () => {
  const r = build({});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /libtorch \(PyTorch's C\+\+ library\) was not found/);
  assert.match(r.stderr, /apt-get install -y libtorch-dev libopenblas0-pthread/);
  assert.match(r.stderr, /LIBTORCH=\/path\/to\/libtorch npm run build:native/);
});

test("LIBTORCH pointing at something that is not a libtorch is named in the error", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-libtorch-"));
  try {
    const r = build({ LIBTORCH: dir });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`LIBTORCH=${dir} does not look like an unpacked libtorch`));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

/** A fake PyTorch wheel's torch/ folder: the files the search looks at, empty libraries. */
function fakeWheel(opts: { cuda: boolean; cxx20: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-wheel-"));
  const api = join(dir, "include", "torch", "csrc", "api", "include", "torch");
  mkdirSync(api, { recursive: true });
  mkdirSync(join(dir, "lib"));
  writeFileSync(join(api, "torch.h"), "");
  writeFileSync(join(api, "version.h"), "#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 11\n#define TORCH_VERSION_PATCH 0\n");
  writeFileSync(join(api, "all.h"), opts.cxx20 ? "#if __cplusplus < 202002L\n#error C++20 or later compatible compiler is required to use PyTorch.\n#endif\n" : "");
  for (const l of ["torch", "torch_cpu", "c10", ...(opts.cuda ? ["torch_cuda", "c10_cuda"] : [])]) writeFileSync(join(dir, "lib", `lib${l}.so`), "");
  return dir;
}

interface DryRun {
  kind: string;
  version: string;
  cuda: boolean;
  std: string;
  cxxflags: string | null;
  gypVariables: string[];
}

function dryRun(env: Record<string, string>): DryRun {
  const base = { ...process.env };
  delete base.LIBTORCH;
  delete base.GCRL_CXX_STD;
  const r = spawnSync(process.execPath, [script, "--dry-run"], { env: { ...base, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as DryRun;
}

test("a CUDA wheel's torch/ as LIBTORCH (preferred): its paths only, CUDA libraries kept by --no-as-needed, C++20 when its headers ask", () => {
  const dir = fakeWheel({ cuda: true, cxx20: true });
  try {
    const r = dryRun({ LIBTORCH: dir, GCRL_PREFER_LIBTORCH: "1" });
    assert.equal(r.kind, "LIBTORCH");
    assert.equal(r.version, "2.11.0");
    assert.equal(r.cuda, true);
    assert.equal(r.std, "c++20");
    assert.equal(r.cxxflags, "-std=c++20");
    const lib = join(dir, "lib");
    assert.deepEqual(r.gypVariables, [
      `--torch_include=${join(dir, "include")}`,
      `--torch_api_include=${join(dir, "include", "torch/csrc/api/include")}`,
      `--torch_lib=${lib}`,
      `--torch_rpath=-Wl,-rpath,${lib} -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed`,
    ]);
    assert.ok(!r.gypVariables.some((v) => v.includes("/usr/")), "no system path when LIBTORCH is preferred");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a CPU wheel: no CUDA libraries, binding.gyp's C++17 unless GCRL_CXX_STD says otherwise", () => {
  const dir = fakeWheel({ cuda: false, cxx20: false });
  try {
    const r = dryRun({ LIBTORCH: dir, GCRL_SYSTEM_LIBTORCH: "0" });
    assert.equal(r.cuda, false);
    assert.equal(r.std, "c++17");
    assert.equal(r.cxxflags, null);
    assert.equal(r.gypVariables.at(-1), `--torch_rpath=-Wl,-rpath,${join(dir, "lib")}`);
    assert.equal(dryRun({ LIBTORCH: dir, GCRL_SYSTEM_LIBTORCH: "0", GCRL_CXX_STD: "c++20" }).cxxflags, "-std=c++20");
  } finally {
    rmSync(dir, { recursive: true });
  }
});
