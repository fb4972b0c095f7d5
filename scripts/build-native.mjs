#!/usr/bin/env node
// Builds the native binding (native/ -> native/build/Release/gcrl_native.node).
//
// libtorch search order:
//   1. the system install (Debian `libtorch-dev`): headers /usr/include/torch, libraries in
//      /usr/lib/x86_64-linux-gnu (or the multiarch directory of this machine);
//   2. $LIBTORCH: an unpacked upstream libtorch (include/, lib/), e.g. a CUDA build; its lib/
//      directory is written into the binary's rpath so no LD_LIBRARY_PATH is needed.
//      A PyTorch wheel's torch/ folder has the same layout (include/, lib/ with libtorch.so,
//      libtorch_cpu.so, libc10.so and, in a CUDA wheel, libtorch_cuda.so, libc10_cuda.so):
//      LIBTORCH=$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))").
// Set GCRL_PREFER_LIBTORCH=1 to try $LIBTORCH before the system install, GCRL_SYSTEM_LIBTORCH=0
// to ignore the system install altogether. Nothing of the system install (no /usr/include/torch,
// no /usr/lib/<multiarch>) is passed to the compiler or linker when $LIBTORCH is used.
// The C++ standard is binding.gyp's C++17 unless libtorch's headers demand C++20 (they say so
// with "#error C++20 or later compatible compiler is required"); GCRL_CXX_STD=c++20 forces one.
// Skips the build when the binary is newer than every source file (pass --force to rebuild);
// --dry-run prints what it would build with (JSON) and builds nothing.
import { existsSync, statSync, readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const output = join(nativeDir, "build", "Release", "gcrl_native.node");
const force = process.argv.includes("--force");

function systemLibtorch() {
  if (process.env.GCRL_SYSTEM_LIBTORCH === "0") return null;
  const arch = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch] ?? "";
  for (const lib of [`/usr/lib/${arch}`, "/usr/lib", "/usr/local/lib"]) {
    if (existsSync(join(lib, "libtorch.so")) && existsSync("/usr/include/torch/csrc/api/include/torch/torch.h")) {
      return { kind: "system", include: "/usr/include", lib, rpath: "" };
    }
  }
  return null;
}

function envLibtorch() {
  const dir = process.env.LIBTORCH;
  if (!dir) return null;
  const include = join(dir, "include");
  const lib = join(dir, "lib");
  if (!existsSync(join(include, "torch/csrc/api/include/torch/torch.h")) || !existsSync(join(lib, "libtorch.so"))) {
    console.error(`gcrl: LIBTORCH=${dir} does not look like an unpacked libtorch (expected include/torch/csrc/api/include/torch/torch.h and lib/libtorch.so).`);
    process.exit(1);
  }
  return { kind: "LIBTORCH", include, lib, rpath: `-Wl,-rpath,${lib}` };
}

const candidates = process.env.GCRL_PREFER_LIBTORCH === "1" ? [envLibtorch, systemLibtorch] : [systemLibtorch, envLibtorch];
let found = null;
for (const find of candidates) {
  found = find();
  if (found) break;
}
if (!found) {
  console.error(`gcrl: libtorch (PyTorch's C++ library) was not found.
  Install it, then build again:
    on Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y libtorch-dev libopenblas0-pthread
    or use an unpacked upstream libtorch (e.g. a CUDA build):  LIBTORCH=/path/to/libtorch npm run build:native
  Searched: /usr/include/torch + /usr/lib/<multiarch>/libtorch.so, then $LIBTORCH.`);
  process.exit(1);
}

function newestSource() {
  let newest = 0;
  const visit = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) { if (name !== "build") visit(path); }
      else newest = Math.max(newest, st.mtimeMs);
    }
  };
  visit(nativeDir);
  return newest;
}

// CUDA builds of libtorch need their CUDA libraries linked explicitly: the binding calls nothing in
// them, but loading them registers the CUDA kernels and hooks (without them cudaAvailable() is
// false). So they go between --no-as-needed and --as-needed, as binding.gyp's -ltorch does: after
// --as-needed the linker would drop them for want of a referenced symbol.
const cudaLibs = ["torch_cuda", "c10_cuda"].filter((l) => existsSync(join(found.lib, `lib${l}.so`))).map((l) => `-l${l}`);
const linkAfter = [found.rpath, ...(cudaLibs.length ? ["-Wl,--no-as-needed", ...cudaLibs, "-Wl,--as-needed"] : [])].filter(Boolean).join(" ");

/** "c++20" when libtorch's headers refuse anything older (newer PyTorch), GCRL_CXX_STD when set, else null (binding.gyp's C++17). */
function cxxStandard(include) {
  if (process.env.GCRL_CXX_STD) return process.env.GCRL_CXX_STD;
  for (const header of ["torch/csrc/api/include/torch/all.h", "ATen/ATen.h"]) {
    const path = join(include, header);
    if (existsSync(path) && /C\+\+20 or later/.test(readFileSync(path, "utf8"))) return "c++20";
  }
  return null;
}

/** "2.11.0" from torch/version.h, or "unknown version". */
function torchVersion(include) {
  const path = join(include, "torch/csrc/api/include/torch/version.h");
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const part = (name) => new RegExp(`#define TORCH_VERSION_${name} (\\d+)`).exec(text)?.[1];
  return part("MAJOR") !== undefined ? `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}` : "unknown version";
}

const std = cxxStandard(found.include);
// Build against the running node's own headers when they are installed (no header download).
const prefix = join(dirname(process.execPath), "..");
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, "include/node/node_api.h")) ? prefix : "");
const gypVariables = [
  `--torch_include=${found.include}`,
  `--torch_api_include=${join(found.include, "torch/csrc/api/include")}`,
  `--torch_lib=${found.lib}`,
  `--torch_rpath=${linkAfter}`,
];
// CXXFLAGS comes after the target's own flags on gyp's compile line, so this -std wins over binding.gyp's.
const cxxflags = std ? `${process.env.CXXFLAGS ?? ""} -std=${std}`.trim() : null;

// --dry-run: what the build would use, as JSON, and nothing built (for tests and for checking a layout).
if (process.argv.includes("--dry-run")) {
  console.log(JSON.stringify({ kind: found.kind, version: torchVersion(found.include), include: found.include, lib: found.lib, cuda: cudaLibs.length > 0, std: std ?? "c++17", cxxflags, nodedir, gypVariables }, null, 2));
  process.exit(0);
}

if (!force && existsSync(output) && statSync(output).mtimeMs > newestSource()) {
  process.exit(0);
}

const require = createRequire(import.meta.url);
const gyp = require.resolve("node-gyp/bin/node-gyp.js");
console.log(`gcrl: building the native binding against ${found.kind} libtorch ${torchVersion(found.include)} (${found.lib})${cudaLibs.length ? " with CUDA" : ""}${std ? `, -std=${std}` : ""}...`);
const args = [gyp, "rebuild", "--directory", nativeDir, "--jobs", "max", ...(nodedir ? [`--nodedir=${nodedir}`] : []), ...gypVariables];
const env = cxxflags !== null ? { ...process.env, CXXFLAGS: cxxflags } : process.env;
const r = spawnSync(process.execPath, args, { stdio: "inherit", env });
if (r.status !== 0) {
  console.error("gcrl: the native build failed (see the compiler output above).");
  process.exit(r.status ?? 1);
}
