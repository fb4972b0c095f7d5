#!/usr/bin/env node
// Builds the native binding (native/ -> native/build/Release/gcrl_native.node).
//
// libtorch search order:
//   1. the system install (Debian `libtorch-dev`): headers /usr/include/torch, libraries in
//      /usr/lib/x86_64-linux-gnu (or the multiarch directory of this machine);
//   2. $LIBTORCH: an unpacked upstream libtorch (include/, lib/), e.g. a CUDA build; its lib/
//      directory is written into the binary's rpath so no LD_LIBRARY_PATH is needed.
// Set GCRL_PREFER_LIBTORCH=1 to try $LIBTORCH before the system install, GCRL_SYSTEM_LIBTORCH=0
// to ignore the system install altogether.
// Skips the build when the binary is newer than every source file (pass --force to rebuild).
import { existsSync, statSync, readdirSync } from "node:fs";
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

if (!force && existsSync(output) && statSync(output).mtimeMs > newestSource()) {
  process.exit(0);
}

// CUDA builds of libtorch need their CUDA libraries linked explicitly (they register kernels).
const extraLibs = ["torch_cuda", "c10_cuda"].filter((l) => existsSync(join(found.lib, `lib${l}.so`))).map((l) => `-l${l}`);
const require = createRequire(import.meta.url);
const gyp = require.resolve("node-gyp/bin/node-gyp.js");
console.log(`gcrl: building the native binding against ${found.kind} libtorch (${found.lib})${extraLibs.length ? " with CUDA" : ""}...`);
// Build against the running node's own headers when they are installed (no header download).
const prefix = join(dirname(process.execPath), "..");
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, "include/node/node_api.h")) ? prefix : "");
const args = [
  gyp, "rebuild", "--directory", nativeDir, "--jobs", "max",
  ...(nodedir ? [`--nodedir=${nodedir}`] : []),
  `--torch_include=${found.include}`,
  `--torch_api_include=${join(found.include, "torch/csrc/api/include")}`,
  `--torch_lib=${found.lib}`,
  `--torch_rpath=${[found.rpath, ...extraLibs].filter(Boolean).join(" ")}`,
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
if (r.status !== 0) {
  console.error("gcrl: the native build failed (see the compiler output above).");
  process.exit(r.status ?? 1);
}
