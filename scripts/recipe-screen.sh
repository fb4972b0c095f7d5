#!/usr/bin/env bash
# Screening for the recipe search (docs/recipes.md): each candidate trains in gcrl mode for the same
# wall-clock budget (MINUTES, default 5) on an otherwise idle machine, then `gcrl eval all` on 10,000
# training images (no FID), and scripts/recipe-table.ts prints the table row of each run.
# Usage: bash scripts/recipe-screen.sh [OUT]     (default studies/recipe-screen)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-studies/recipe-screen}"
MINUTES="${MINUTES:-5}"
mkdir -p "$OUT"
gcrl() { node --import tsx src/cli/main.ts "$@"; }
candidate() {
  local name=$1; shift
  if [[ ! -f "$OUT/$name/eval.json" ]]; then
    [[ -d "$OUT/$name" ]] || gcrl train --config configs/study.json --mode gcrl --minutes "$MINUTES" --out "$OUT/$name" "$@" > "$OUT/$name.train.log" 2>&1
    gcrl eval all --run "$OUT/$name" --train-images 10000 --fid-samples 0 --samples 16 --completions 2 > "$OUT/$name.eval.log" 2>&1
  fi
  node --import tsx scripts/recipe-table.ts "$OUT/$name"
}
candidate d32-L2                                                   # configs/study.json as it is
candidate d64-L2 --model.d 64
candidate d32-L4 --model.encoderLayers 4
# candidate d48-L3 --model.d 48 --model.encoderLayers 3   (next session)
# candidate d32-L2-b64 --train.batchSize 64 --optim.lr 3e-3   (next session)
