#!/usr/bin/env bash
# Trains the default model family (the wavelet preset: all four qualities in one model) on one
# CUDA GPU in at most 10 minutes of training, saving OUT/*/last.pt every minute, then exports
# and evaluates the bundle. Usage (from the repository root, with the export extra installed):
#
#   tools/train-gpu.sh [OUT] [TRAINING_IMAGES] [INIT_CHECKPOINT]
#
# OUT defaults to runs/gpu, TRAINING_IMAGES to ../shared/data/train. INIT_CHECKPOINT (optional)
# continues from a CPU run (e.g. the committed export/checkpoints/wavelet.pt) instead of the
# wavelet start. Budget: 2 minutes rate-only (entropy model), 8 minutes joint; bf16 autocast.
set -euo pipefail
out=${1:-runs/gpu}
data=${2:-../shared/data/train}
init=${3:-}
common=(--model wavelet --data "$data" --holdout-every 25 --device cuda --amp bf16 --batch-size 16 --crop 256
        --steps 1000000 --checkpoint-seconds 60 --log-every 100 --entropy-lr-scale 10)
cd "$(dirname "$0")/../export"
[[ "$out" = /* ]] || out="$OLDPWD/$out"
[[ "$data" = /* ]] || data="$OLDPWD/$data"
if [ -z "$init" ]; then
  python -m edgesdk_export.train "${common[@]}" --out "$out/entropy" --train-only entropy --lr 1e-3 --max-seconds 120
  init="$out/entropy/last.pt"
fi
python -m edgesdk_export.train "${common[@]}" --out "$out/joint" --init "$init" --lr 2e-4 --max-seconds 480
cd "$OLDPWD"
edgesdk export "$out/joint/last.pt" --out "$out/wavelet.edgesdk" --overwrite
edgesdk eval ../shared/data/kodak --model "$out/wavelet.edgesdk" --out "$out/eval"
