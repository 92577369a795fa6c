#!/usr/bin/env bash
# Device call of the sweep issue (one H200), run from the repository root:
#   bash results/sweep/gpu_sweep.sh
# Needs .devcarry/inception-2015-12-05-fp16.pt (FID). In order: sameness of concurrent and solo
# runs (fp32, 20 steps), the speed table (K=1 vs K=16 for both recipes and precisions), FID of
# three 5,000-step runs of configs/mnist.yaml trained concurrently against the same seed-0 run
# trained alone, then K=8 and K=32 for configs/mnist.yaml tf32.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
INCEPTION=.devcarry/inception-2015-12-05-fp16.pt
mkdir -p "$OUT" runs
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"
python3 scripts/sweep_speed.py same --out "$OUT/same.json" 2>&1 | tee "$OUT/same.txt"
python3 scripts/sweep_speed.py speed --k 1,16 --steps 400 --out "$OUT/speed.json" 2>&1 | tee "$OUT/speed.txt"
start=$(date +%s)
python3 scripts/sweep.py --config configs/mnist.yaml --out runs/fidcheck --parallel 3 --no-eval --no-progress \
  train.steps=5000 log.checkpoint_every=5000 train.seed=0,1,2 > "$OUT/fidcheck.log" 2>&1
mid=$(date +%s)
python3 scripts/train.py --config configs/mnist.yaml train.steps=5000 log.checkpoint_every=5000 log.progress=false \
  run.dir=runs/fidcheck_alone/seed=0 >> "$OUT/fidcheck.log" 2>&1
end=$(date +%s)
echo "3 concurrent runs: $((mid - start)) s; seed 0 alone: $((end - mid)) s" | tee -a "$OUT/fidcheck.log"
python3 scripts/evaluate.py runs/fidcheck/seed=0 runs/fidcheck/seed=1 runs/fidcheck/seed=2 runs/fidcheck_alone/seed=0 \
  --metrics fid,modes,cfid --n 10000 --inception "$INCEPTION" --device cuda --out "$OUT/fidcheck.json" \
  >> "$OUT/fidcheck.log" 2>&1
grep -iE "fid|error|Traceback" "$OUT/fidcheck.log" | tail -n 12
python3 scripts/sweep_speed.py speed --k 1,8,32 --steps 400 --recipes mnist --precisions tf32 \
  --out "$OUT/speed_k.json" 2>&1 | tee "$OUT/speed_k.txt"
