#!/usr/bin/env bash
# The linear probe and kNN of a study's runs on all 60,000 Fashion-MNIST training images (the study's
# `eval all` uses the first 10,000), so that they compare like for like with the raw-pixel probe of
# docs/evaluation.md (84.74% on 60,000 / 10,000), plus the raw-pixel probe on the study's 10,000.
# Per run: `gcrl eval probe` (layer chosen on the validation part), the same with --concat-layers,
# and `gcrl eval knn`, from one encoder pass (the run's cache); then per run the probe and kNN on
# every block's r(x) concatenated (--row-blocks --concat-layers). Logs go to OUT/<run>.<what>.log;
# finished steps are skipped, so the script resumes where it stopped.
# Usage: bash scripts/probe-all-train.sh STUDY_DIR OUT [RUN...]     (default runs: gcrl igpt simclr)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STUDY="$1"; OUT="$2"; shift 2
RUNS=("$@")
[[ $# -eq 0 ]] && RUNS=(gcrl igpt simclr)
mkdir -p "$OUT"
gcrl() { node --import tsx src/cli/main.ts "$@"; }
step() {  # step LOG command...: runs the command into LOG.tmp, renamed to LOG when it succeeds; skipped when LOG exists
  local log=$1; shift
  [[ -f "$log" ]] && return
  "$@" > "$log.tmp" 2>&1
  mv "$log.tmp" "$log"
}
step "$OUT/pixels-10000.log" node --import tsx bench/probe-pixels.ts --train 10000
for run in "${RUNS[@]}"; do
  step "$OUT/$run.probe.log" gcrl eval probe --run "$STUDY/runs/$run"
  step "$OUT/$run.probe-concat.log" gcrl eval probe --run "$STUDY/runs/$run" --concat-layers
  step "$OUT/$run.knn.log" gcrl eval knn --run "$STUDY/runs/$run"
done
# Every block's r(x) side by side (--row-blocks --concat-layers: the row and column block of each
# layer, 2·L·d dims), after the per-layer steps of every run: one more encoder pass per run.
for run in "${RUNS[@]}"; do
  step "$OUT/$run.probe-blocks-concat.log" gcrl eval probe --run "$STUDY/runs/$run" --row-blocks --concat-layers
  step "$OUT/$run.knn-blocks-concat.log" gcrl eval knn --run "$STUDY/runs/$run" --row-blocks --concat-layers
done
