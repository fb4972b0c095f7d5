#!/usr/bin/env bash
# Training throughput of candidate model sizes for the recipe search (docs/recipes.md): gcrl mode,
# 24 steps of configs/demo.json with the width/depth given, images/s from the last metrics line.
# Runs in $OUT (default /tmp/recipe); compare only the ratios of one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/recipe}"
mkdir -p "$OUT"
run() {
  local name=$1; shift
  rm -rf "$OUT/speed-$name"
  node --import tsx src/cli/main.ts train --config configs/demo.json --out "$OUT/speed-$name" --steps 24 \
    --train.evalEvery 0 --train.logEvery 8 --train.checkpointEvery 1000 "$@" > "$OUT/speed-$name.log" 2>&1
  echo "$name $(grep -o '"imagesPerSecond":[0-9.]*' "$OUT/speed-$name/metrics.jsonl" | tail -1)"
}
run d32L2
run d64L2 --model.d 64
run d64L4 --model.d 64 --model.encoderLayers 4
run d128L2 --model.d 128
run d128L4 --model.d 128 --model.encoderLayers 4
