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
# ENTROPY_SECONDS, JOINT_SECONDS override the budget; TRAIN_DEVICE=cpu tries the script on a CPU;
# EVAL_DATA names the evaluation folder (Kodak), skipped with a note where it is absent.
set -euo pipefail
out=${1:-runs/gpu}
data=${2:-../shared/data/train}
init=${3:-}
eval_data=${EVAL_DATA:-../shared/data/kodak}
cd "$(dirname "$0")/../export"
[[ "$out" = /* ]] || out="$OLDPWD/$out"
[[ "$data" = /* ]] || data="$OLDPWD/$data"
[[ -z "$init" || "$init" = /* ]] || init="$OLDPWD/$init"
[[ "$eval_data" = /* ]] || eval_data="$OLDPWD/$eval_data"
common=(--model wavelet --data "$data" --holdout-every 25 --device "${TRAIN_DEVICE:-cuda}" --amp bf16 --batch-size 16 --crop 256
        --steps 1000000 --checkpoint-seconds 60 --log-every 100 --entropy-lr-scale 10)
if [ -z "$init" ]; then
  python -m edgesdk_export.train "${common[@]}" --out "$out/entropy" --train-only entropy --lr 1e-3 --max-seconds "${ENTROPY_SECONDS:-120}"
  init="$out/entropy/last.pt"
fi
python -m edgesdk_export.train "${common[@]}" --out "$out/joint" --init "$init" --lr 2e-4 --max-seconds "${JOINT_SECONDS:-480}"
cd "$OLDPWD"
edgesdk export "$out/joint/last.pt" --out "$out/wavelet.edgesdk" --overwrite
if [ -d "$eval_data" ]; then
  edgesdk eval "$eval_data" --model "$out/wavelet.edgesdk" --out "$out/eval"
else
  echo "note: no evaluation folder $eval_data; the bundle is $out/wavelet.edgesdk (evaluate it with edgesdk eval)"
fi
