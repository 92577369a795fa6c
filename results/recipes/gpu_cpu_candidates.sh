#!/usr/bin/env bash
# Candidates for the README's first command (a 2-core CPU, about 400 s of training), trained on
# the GPU: quality per generator step does not depend on the device, and the CPU's steps/s of
# each shape was measured on the CPU (docs/recipes.md). 16x16 images, final classifier metrics
# on 10,000 samples of the weight average. Run from the repository root:
#   bash results/recipes/gpu_cpu_candidates.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
mkdir -p "$OUT"
common="--config configs/mnist_cpu.yaml --no-progress --eval-samples 10000 system.device=cuda data.image_size=16
  train.ema=0.999 train.lr_decay=linear log.checkpoint_every=100000 log.sample_every=100000 train.seed=0,1"
python3 scripts/sweep.py $common --out runs/cpu_cand/w32_nc5 train.steps=3200 train.lr=5e-5,1e-4,2e-4 \
  > "$OUT/cpu_cand.log" 2>&1
python3 scripts/sweep.py $common --out runs/cpu_cand/w64_nc5 train.steps=1700 model.g_width=64 model.c_width=64 \
  train.lr=1e-4,2e-4 >> "$OUT/cpu_cand.log" 2>&1
python3 scripts/sweep.py $common --out runs/cpu_cand/w32_nc1 train.steps=8500 train.n_critic=1 train.optimizer= \
  train.lr= train.betas= model.c_norm= train.objective=wgan-sn,hinge >> "$OUT/cpu_cand.log" 2>&1
for d in runs/cpu_cand/*; do echo "== $d"; cut -d, -f1,3,5,6,8-10 "$d/summary.csv"; done | tee "$OUT/cpu_cand.txt"
