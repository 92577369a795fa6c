#!/usr/bin/env bash
# Device call (one H200) of issue 14's MNIST recipe pilot, from the repository root:
#   bash results/recipes/gpu_mnist_pilot.sh [STEPS]
# 1. eager vs CUDA graphs for train.lr_decay=linear (the shipped recipe's) and linear-generator
#    (fp32, deterministic, 20 steps logged every step): the rates fall as planned, the losses agree;
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
for decay in linear linear-generator; do
  for graphs in false true; do
    python3 scripts/train.py --config configs/mnist.yaml train.steps=20 train.lr_decay=$decay \
      system.precision=fp32 system.deterministic=true system.cuda_graphs=$graphs log.log_every=1 log.progress=false \
      log.sample_every=100000 log.checkpoint_every=100000 run.dir=runs/decay_${decay}_graphs_$graphs \
      > "$OUT/decay_${decay}_$graphs.log" 2>&1
    echo "decay=$decay graphs=$graphs: exit $?"
  done
done
python3 - <<'PY' | tee "$OUT/decay_check.txt"
import json
keys = ("em_distance", "loss_critic", "loss_generator")
for decay in ("linear", "linear-generator"):
    rows = {g: [json.loads(l) for l in open(f"runs/decay_{decay}_graphs_{g}/metrics.jsonl") if '"em_distance"' in l]
            for g in ("false", "true")}
    worst = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for a, b in zip(rows["false"], rows["true"]) for k in keys)
    print(f"lr_decay={decay}, eager vs CUDA graphs, 20 steps: max relative loss difference {worst:.3g}; "
          f"generator lr first/last eager {rows['false'][0]['lr']:.4g}/{rows['false'][-1]['lr']:.4g}, "
          f"graphs {rows['true'][0]['lr']:.4g}/{rows['true'][-1]['lr']:.4g}")
PY
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
