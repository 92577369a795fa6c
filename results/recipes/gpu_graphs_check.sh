#!/usr/bin/env bash
# Eager vs CUDA graphs for configs/mnist.yaml on one GPU (fp32, deterministic cuDNN, 20 generator
# steps logged every step), per lr_decay and memory layout, from the repository root:
#   bash results/recipes/gpu_graphs_check.sh "none:true linear:false linear-generator:false"
# Each case is DECAY:CHANNELS_LAST. Prints, per case, the first log step where the losses differ and
# the largest relative difference; returns the runs' logs and metrics.jsonl as $OUT/graphs_check.tgz.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
mkdir -p "$OUT" runs
for case in $1; do
  decay=${case%%:*} nhwc=${case##*:}
  for graphs in false true; do
    dir=runs/graphs_check/${decay}_nhwc_${nhwc}_graphs_$graphs
    rm -rf "$dir" "$dir.log"; mkdir -p runs/graphs_check
    python3 scripts/train.py --config configs/mnist.yaml train.steps=20 train.lr_decay="$decay" \
      system.channels_last="$nhwc" system.precision=fp32 system.deterministic=true system.cuda_graphs=$graphs \
      log.log_every=1 log.progress=false log.sample_every=100000 log.checkpoint_every=100000 run.dir="$dir" \
      > "$dir.log" 2>&1 || echo "$dir: exit $?"
  done
done
python3 - $1 <<'PY' | tee "$OUT/graphs_check.txt"
import json, sys
keys = ("em_distance", "loss_critic", "loss_generator")
for case in sys.argv[1:]:
    decay, nhwc = case.split(":")
    rows = {g: [json.loads(l) for l in open(f"runs/graphs_check/{decay}_nhwc_{nhwc}_graphs_{g}/metrics.jsonl")
                if '"em_distance"' in l] for g in ("false", "true")}
    diffs = [max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for k in keys) for a, b in zip(rows["false"], rows["true"])]
    first = next((rows["false"][i]["step"] for i, d in enumerate(diffs) if d > 0), None)
    lrs = [(r[0]["lr"], r[-1]["lr"]) for r in rows.values()]
    print(f"lr_decay={decay} channels_last={nhwc}: {len(diffs)} rows, first differing step {first}, "
          f"max relative loss difference {max(diffs):.3g}; lr first/last eager {lrs[0]}, graphs {lrs[1]}")
PY
tar czf "$OUT/graphs_check.tgz" runs/graphs_check/*.log runs/graphs_check/*/metrics.jsonl
