#!/usr/bin/env bash
# Screening for the recipe search (docs/recipes.md): each candidate of a set trains in gcrl mode for
# the same budget, then `gcrl eval all` on 10,000 training images (no FID), and scripts/recipe-table.ts
# prints the table row of each run. Finished candidates (eval.json present) are skipped, so the
# script resumes where it stopped.
#   width: 5 minutes each (MINUTES) on an otherwise idle machine, d = 32 vs 64 (the first screening)
#   d64:   300 steps each (STEPS), one knob of configs/fmnist-1h.json's d = 64 model changed per
#          candidate; equal steps, so other load on the machine changes the minutes, not the result;
#          the typicality score anchored on 1,000 training images
# Usage: bash scripts/recipe-screen.sh [OUT] [SET]     (defaults studies/recipe-screen, width)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-studies/recipe-screen}"
SET="${2:-width}"
mkdir -p "$OUT"
gcrl() { node --import tsx src/cli/main.ts "$@"; }
candidate() {
  local name=$1 config=$2 budget=$3; shift 3
  if [[ ! -f "$OUT/$name/eval.json" ]]; then
    # shellcheck disable=SC2086 # budget is two words: --minutes X or --steps N
    [[ -f "$OUT/$name/model.safetensors" ]] || gcrl train --config "$config" --mode gcrl $budget --out "$OUT/$name" "$@" > "$OUT/$name.train.log" 2>&1
    # shellcheck disable=SC2086 # EVAL_EXTRA: extra eval options of the set
    gcrl eval all --run "$OUT/$name" --train-images 10000 --fid-samples 0 --samples 16 --completions 2 ${EVAL_EXTRA:-} > "$OUT/$name.eval.log" 2>&1
  fi
  node --import tsx scripts/recipe-table.ts "$OUT/$name"
}
case "$SET" in
  width)
    B="--minutes ${MINUTES:-5}"
    candidate d32-L2 configs/study.json "$B"                      # configs/study.json as it is
    candidate d64-L2 configs/study.json "$B" --model.d 64
    candidate d32-L4 configs/study.json "$B" --model.encoderLayers 4
    ;;
  d64)
    B="--steps ${STEPS:-300}"
    EVAL_EXTRA="--nll-train-images 1000"   # the typicality score's anchor: 1,000 training images instead of 5,000 (saves minutes per candidate)
    candidate base configs/fmnist-1h.json "$B"                    # configs/fmnist-1h.json as it is
    candidate tau0.2 configs/fmnist-1h.json "$B" --objective.tau 0.2
    candidate batch64 configs/fmnist-1h.json "$B" --train.batchSize 64
    candidate scale0.4 configs/fmnist-1h.json "$B" --augment.strong.scale 0.4,1
    candidate enc3 configs/fmnist-1h.json "$B" --model.encoderLayers 3
    candidate d96 configs/fmnist-1h.json "$B" --model.d 96
    candidate lr1e-3 configs/fmnist-1h.json "$B" --optim.lr 1e-3
    ;;
  *) echo "recipe-screen.sh: unknown set '$SET' (expected width or d64)" >&2; exit 2 ;;
esac
