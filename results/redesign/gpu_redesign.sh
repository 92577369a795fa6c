#!/usr/bin/env bash
# Device calls of the redesign issue (one H200 each), run from the repository root:
#   bash results/redesign/gpu_redesign.sh bench OBJECTIVE   # benchmark before/after, then one 20k run
#   bash results/redesign/gpu_redesign.sh runs OBJ1 OBJ2    # two 20k runs side by side
# Needs .devcarry/inception-2015-12-05-fp16.pt (FID) and, for bench, .devcarry/old (the package at
# the commit before the redesign: git archive 0bd10e0 wgan scripts configs | tar -x -C .devcarry/old, without
# wgan/assets, its benchmark's loss trace given train.deterministic=true as this commit's gives system.deterministic).
# Each objective's run: configs/mnist.yaml (32x32, width 96, ema 0.999, lr decay) with the
# objective's published optimiser defaults and critic norm, 20,000 generator steps, then FID/KID
# (10k vs test) and the classifier metrics of its weight average.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
INCEPTION=.devcarry/inception-2015-12-05-fp16.pt
mkdir -p "$OUT" runs
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; git rev-parse HEAD 2>/dev/null; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"

train_eval() {  # objective
  local obj=$1 dir=runs/obj_$1
  /usr/bin/time -f "train wall %e s" python3 scripts/train.py --config configs/mnist.yaml \
    train.objective="$obj" train.optimizer= train.lr= train.betas= model.c_norm= train.steps=20000 \
    log.checkpoint_every=5000 log.log_every=100 log.progress=false run.dir=$dir > "$OUT/$obj.log" 2>&1
  echo "train exit $?" >> "$OUT/$obj.log"
  python3 scripts/evaluate.py $dir --metrics fid,kid,modes,cfid --n 10000 --inception "$INCEPTION" \
    --device cuda --out "$OUT/$obj.json" >> "$OUT/$obj.log" 2>&1
  cp $dir/metrics.jsonl "$OUT/${obj}_metrics.jsonl"
}

case ${1:-} in
  bench)
    python3 scripts/benchmark.py --steps 200 --naive-steps 40 --big-steps 30 --out "$OUT/bench_new.json" \
      > "$OUT/bench_new.txt" 2>&1
    ln -sfn ../../data .devcarry/old/data
    (cd .devcarry/old && PYTHONPATH=$PWD python3 scripts/benchmark.py --steps 200 --naive-steps 40 --big-steps 30 \
      --out "$OUT/bench_old.json" > "$OUT/bench_old.txt" 2>&1)
    echo "== new"; cat "$OUT/bench_new.txt"; echo "== old (0bd10e0)"; cat "$OUT/bench_old.txt"
    if [ -n "${2:-}" ]; then train_eval "$2"; fi ;;
  runs)
    shift
    for obj in "$@"; do train_eval "$obj" & done
    wait ;;
esac
for f in "$OUT"/*.log; do echo "== $f"; grep -E "train wall|train exit|done:|fid|class|error|Traceback" "$f" | tail -n 12; done
