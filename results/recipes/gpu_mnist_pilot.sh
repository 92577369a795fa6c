#!/usr/bin/env bash
# Device call (one H200) of issue 14's MNIST recipe pilot, from the repository root:
#   bash results/recipes/gpu_mnist_pilot.sh [STEPS]
# 1. results/recipes/gpu_graphs_check.sh: eager vs CUDA graphs for train.lr_decay=linear (the shipped
#    recipe's) and linear-generator, or the DECAY:CHANNELS_LAST cases in $CHECKS;
# 2. results/recipes/gpu_mnist_pilot.py: six variants of configs/mnist.yaml at once, then FID 10k.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
STEPS=${1:-16000}
mkdir -p "$OUT" runs
source results/inception.sh
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"
bash results/recipes/gpu_graphs_check.sh "${CHECKS:-linear:true linear-generator:true}"
python3 results/recipes/gpu_mnist_pilot.py --steps "$STEPS" --inception "$INCEPTION" --out "$OUT" 2>&1 | tee "$OUT/pilot.log" \
  | grep -vE "^\s*$"
python3 - "$OUT/pilot_eval.json" <<'PY' | tee "$OUT/pilot_table.txt"
import json, sys
for r in json.load(open(sys.argv[1])):
    m = r["metrics"]
    print(f"{r['model']:<40} step {r['step']:>6}  FID {m['fid']:6.2f}  classifier FID {m['classifier_fid']:6.2f}  "
          f"class KL {m['class_kl']:.4f}  classes {m['classes_covered']}")
PY
tar czf "$OUT/pilot_runs.tgz" --exclude=checkpoints --exclude=samples --exclude='events.out.tfevents*' runs/pilot
