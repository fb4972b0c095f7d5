#!/usr/bin/env bash
# The GPU check of gcrl, prepared for a session that is lent a GPU machine (an NVIDIA H200 with a
# CUDA build of PyTorch, Python, a C++ compiler and nvcc; no Node.js, no network). Before the run,
# on the usual machine: `bash scripts/pack-node.sh` (node + headers, the npm packages, a
# Fashion-MNIST subset and torch_ref.py, into .gpu-pack/, gitignored). Then one device call:
#
#   run(carry: [".gpu-pack"], timeout_s: 570, command: "bash scripts/cuda-check.sh")
#
# Each step is time-boxed, logs to $OUT/<step>.log and goes on after a failure; $OUT/summary.txt
# holds one line per step (ok / FAILED / skipped) and the exit status is 0 only if every step passed.
#
#   1 env       the GPU (nvidia-smi), PyTorch's version and CUDA, the compiler
#   2 node      unpacks .gpu-pack: node onto PATH, node_modules, data/fashion-mnist (the subset)
#   3 build     the binding against the wheel's libtorch: LIBTORCH=<torch/> GCRL_PREFER_LIBTORCH=1
#               node scripts/build-native.mjs --force (CUDA libraries linked, C++20 if the headers ask)
#   4 cuda      the binding sees the GPU: cudaAvailable(), cudaDeviceCount(), a matmul on cuda
#   5 tests-cuda  GCRL_TEST_DEVICE=cuda test/model/device.test.ts (model, training step, bf16,
#               sampling, passImages, palette, a tiny run trained + evaluated on cuda, each against the CPU)
#   6 e2e       gcrl train --device cuda (fp32, and bf16), eval all / sample / complete --device cuda;
#               the run's eval.json, report.md and pictures are copied to $OUT/e2e/
#   7 bench     bench/train-device.ts: our step vs torch_ref.py's on cuda, fp32 and bf16, batch 32
#               and 256 ($OUT/bench-train-device.json); without a binding, PyTorch's side alone
#   8 tests-cpu the CPU tests most tied to the libtorch version (tensor, kernels, model) on this build
#
# Budget: device time is short (15 minutes per task, the machine's start included) and one command
# may run 10 minutes: the script stops starting steps after GCRL_CHECK_BUDGET_S (540 s). The build
# (a minute or two on 16 cores) is the one long step; a failed build leaves its log and PyTorch's figures.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ROOT=$PWD
export OUT=${OUT:-$ROOT/cuda-check-out}
mkdir -p "$OUT"
export PACK=$ROOT/.gpu-pack
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
failed=0
started=$SECONDS
# The whole script stays within BUDGET seconds (a device command may run 600 s): each step's limit
# is cut to what is left, and a step with under 15 s left is skipped.
BUDGET=${GCRL_CHECK_BUDGET_S:-540}

# step NAME LIMIT_S FUNCTION: runs FUNCTION (exported) in bash under a time limit, output to $OUT/NAME.log.
step() {
  local name=$1 limit=$2 fn=$3
  local left=$((BUDGET - (SECONDS - started) - 5))
  if ((left < 15)); then
    failed=1
    echo "$name: skipped (out of time: ${left}s left of ${BUDGET}s)" | tee -a "$SUMMARY"
    return 1
  fi
  ((limit > left)) && limit=$left
  local t0=$SECONDS
  echo "== $name (limit ${limit}s) =="
  timeout --kill-after=10 "$limit" bash -c "$fn" >"$OUT/$name.log" 2>&1
  local rc=$?
  local took=$((SECONDS - t0))
  if ((rc == 0)); then
    echo "$name: ok (${took}s)" | tee -a "$SUMMARY"
  else
    failed=1
    echo "$name: FAILED (exit $rc$( ((rc == 124)) && echo ", time limit"), ${took}s; $OUT/$name.log)" | tee -a "$SUMMARY"
    tail -n 25 "$OUT/$name.log"
  fi
  return $rc
}
skip() {
  failed=1
  echo "$1: skipped ($2)" | tee -a "$SUMMARY"
}

# The first Python that imports torch (the wheel whose libtorch the binding is built against).
PYTHON=
for candidate in "$(command -v python3)" /usr/bin/python3 /usr/local/bin/python3 "$(command -v python)"; do
  if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -c "import torch" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
done
export PYTHON=${PYTHON:-python3}
export GCRL_PYTHON=$PYTHON

env_info() {
  nvidia-smi || true
  "$PYTHON" -c 'import torch, os; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "devices", torch.cuda.device_count(), "dir", os.path.dirname(torch.__file__)); print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")'
  g++ --version | head -1
  make --version | head -1
  command -v nvcc && nvcc --version | tail -1
  df -h "$ROOT" | tail -1
}

unpack() {
  local tarball
  tarball=$(ls "$PACK"/node-*-linux-*.tar.xz | head -1)
  tar -C "$PACK" -xJf "$tarball"
  # node_modules is not carried (ignored, 135 MB); a dangling link to another checkout's is replaced.
  if [[ -L node_modules && ! -e node_modules ]]; then rm node_modules; fi
  tar -xJf "$PACK/node_modules.tar.xz"
  if [[ ! -d /usr/share/datasets/fashion-mnist ]]; then
    mkdir -p data
    ln -sfn "$PACK/fashion-mnist" data/fashion-mnist # fashion-mnist's default folder when Debian's is absent
  fi
  node --version
  ls data/fashion-mnist/ 2>/dev/null || true
}

build() {
  local torch_dir
  torch_dir=$("$PYTHON" -c "import torch, os; print(os.path.dirname(torch.__file__))") || return 1
  [[ -n "$torch_dir" ]] || return 1
  # GCRL_SYSTEM_LIBTORCH=0: the wheel or nothing, never a system libtorch found instead.
  LIBTORCH=$torch_dir GCRL_PREFER_LIBTORCH=1 GCRL_SYSTEM_LIBTORCH=0 node scripts/build-native.mjs --dry-run || return 1
  LIBTORCH=$torch_dir GCRL_PREFER_LIBTORCH=1 GCRL_SYSTEM_LIBTORCH=0 node scripts/build-native.mjs --force || return 1
  ldd native/build/Release/gcrl_native.node | grep -E "torch|c10|cuda" || true
}

cuda_sees_gpu() {
  node --import tsx -e '
    const t = await import("./src/torch/index.ts");
    const info = t.buildInfo();
    console.log("cudaAvailable", t.cudaAvailable(), "cudaDeviceCount", t.cudaDeviceCount());
    console.log(info.config.split("\n").slice(0, 12).join("\n"));
    if (!t.cudaAvailable()) process.exit(1);
    const a = t.randn([1024, 1024], { device: "cuda" });
    const c = a.matmul(a).sum().item();
    const d = a.cpu().matmul(a.cpu()).sum().item();
    console.log("matmul sum on cuda", c, "on the CPU", d);
    if (!(Math.abs(c - d) <= 1e-3 * Math.abs(d) + 1e-2)) process.exit(1);'
}

tests_cuda() {
  GCRL_TEST_DEVICE=cuda node --import tsx --test --test-concurrency=1 test/model/device.test.ts
}

# The CPU tests most tied to the libtorch version (operators, the fast kernels, the model), against this build.
tests_cpu() {
  node --import tsx --test --test-concurrency=1 test/torch/tensor.test.ts test/torch/kernels.test.ts test/model/gcrl-model.test.ts test/model/incremental.test.ts
}

e2e() {
  local runs=$OUT/e2e run=$ROOT/cuda-run bf16=$ROOT/cuda-run-bf16
  mkdir -p "$runs"
  rm -rf "$run" "$bf16"
  node bin/gcrl.js train --config configs/demo.json --device cuda --steps 200 --out "$run" || return 1
  node bin/gcrl.js train --config configs/demo.json --device cuda --precision bf16 --steps 100 --train.evalEvery 50 --out "$bf16" || return 1
  node bin/gcrl.js eval all --run "$run" --device cuda --train-images 1000 --test-images 300 --samples 16 --fid-samples 0 --ood-images 300 || return 1
  node bin/gcrl.js sample --run "$run" --device cuda --n 16 --out "$runs/samples.png" || return 1
  node bin/gcrl.js complete --run "$run" --device cuda --n 4 --out "$runs/completions.png" || return 1
  cp "$run"/{config.json,metrics.jsonl,train.log,eval.json,report.md} "$runs/"
  cp -r "$run/eval" "$runs/eval-figures"
  cp "$bf16/metrics.jsonl" "$runs/bf16-metrics.jsonl"
  cp "$bf16/train.log" "$runs/bf16-train.log"
}

bench() {
  GCRL_BENCH_TRAIN_STEPS=10 GCRL_BENCH_JSON=$OUT/bench-train-device.json GCRL_TORCH_REF=$PACK/torch_ref.py node --import tsx bench/run.ts train-device
}

# PyTorch's step alone (no binding): the same wrapper as bench/train-device.ts, batch 32 and 256.
torch_only_bench() {
  for b in 32 256; do
    for p in "" --bf16; do
      "$PYTHON" - "$PACK/torch_ref.py" "$b" "$p" <<'EOF'
import sys, runpy, torch
path, b, p = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = [path, b, "28", "28", "16", "128", "4", "4", "2", "10"] + ([p] if p else [])
torch.set_default_device("cuda")
_autocast = torch.autocast
torch.autocast = lambda device_type, *a, **k: _autocast("cuda" if device_type == "cpu" else device_type, *a, **k)
runpy.run_path(path, run_name="__main__")
EOF
    done
  done
}

export -f env_info unpack build cuda_sees_gpu tests_cuda tests_cpu e2e bench torch_only_bench

step env 30 env_info
if step node 90 unpack; then
  PATH=$PACK/node/bin:$PATH
  export PATH
  if step build 300 build; then
    if step cuda 45 cuda_sees_gpu; then
      step tests-cuda 120 tests_cuda
      step e2e 180 e2e
      step bench 150 bench
      step tests-cpu 120 tests_cpu
    else
      for s in tests-cuda e2e bench tests-cpu; do skip $s "the binding sees no GPU"; done
      step torch-bench 90 torch_only_bench
    fi
  else
    for s in cuda tests-cuda e2e bench tests-cpu; do skip $s "no binding"; done
    step torch-bench 90 torch_only_bench
  fi
fi
echo "total: $((SECONDS - started))s of ${BUDGET}s" | tee -a "$SUMMARY"
exit $failed
