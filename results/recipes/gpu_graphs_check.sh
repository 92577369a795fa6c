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
for case in $1; do
  decay=${case%%:*} nhwc=${case##*:}
  python3 scripts/loss_diff.py runs/graphs_check/${decay}_nhwc_${nhwc}_graphs_{false,true} \
    --label "lr_decay=$decay channels_last=$nhwc, eager vs CUDA graphs"
done | tee "$OUT/graphs_check.txt"
tar czf "$OUT/graphs_check.tgz" runs/graphs_check/*.log runs/graphs_check/*/metrics.jsonl
