#!/usr/bin/env bash
# One device call on a 4-GPU machine: interconnect check and weak scaling (issue 8), then, one
# per GPU and each for TRAIN_SECONDS of wall time: Fashion-MNIST, Stacked MNIST (modes over
# 26,000 samples, on the GPU) and an MNIST run (exported; FID is computed on the CPU later,
# since the Inception network and Fashion-MNIST do not fit one call together), plus the
# benchmark (its eager-vs-graphs check covers the weight average).
#   OUT=folder bash results/gpu_datasets_and_scaling.sh
# Fashion-MNIST is read from FASHION_ROOT/fashion-mnist/*.gz.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
TRAIN_SECONDS=${TRAIN_SECONDS:-400}
FASHION_ROOT=${FASHION_ROOT:-.devcarry/fashion}
MNIST_OVERRIDES=${MNIST_OVERRIDES:-} FASHION_OVERRIDES=${FASHION_OVERRIDES:-} STACKED_OVERRIDES=${STACKED_OVERRIDES:-}
W=runs/datasets
mkdir -p "$OUT" $W
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nvidia-smi topo -m
  python3 -c 'import torch; print("torch", torch.__version__)'; } > $W/cards.txt 2>&1

python3 scripts/scaling.py --gpus 1 2 4 --steps 240 --batch 256 --comm --out "$OUT/scaling.json" 2>&1 \
  | tee $W/scaling.log

run() {  # gpu name config overrides...
  local gpu=$1 name=$2 config=$3; shift 3
  CUDA_VISIBLE_DEVICES=$gpu timeout -s INT "$TRAIN_SECONDS" python3 scripts/train.py --config "$config" \
    train.steps=10000000 log.checkpoint_every=4000 log.keep_checkpoints=1000 log.sample_every=4000 \
    log.progress=false run.dir=$W/$name "$@" > $W/$name.log 2>&1
  echo "train exit $? after ${TRAIN_SECONDS}s" >> $W/$name.log
}
# shellcheck disable=SC2086  # the overrides are words on purpose
{ run 0 fashion configs/fashion_mnist.yaml data.root="$FASHION_ROOT" $FASHION_OVERRIDES
  CUDA_VISIBLE_DEVICES=0 python3 scripts/export.py $W/fashion "$OUT/fashion.safetensors" >> $W/fashion.log 2>&1
} &
{ run 1 stacked configs/stacked_mnist.yaml $STACKED_OVERRIDES
  CUDA_VISIBLE_DEVICES=1 python3 scripts/evaluate.py $W/stacked $W/stacked/checkpoints/step_*.pt --metrics modes \
    --n 26000 --device cuda --out $W/stacked/modes.json > $W/stacked/modes.txt 2>> $W/stacked.log
  CUDA_VISIBLE_DEVICES=1 python3 scripts/export.py $W/stacked "$OUT/stacked.safetensors" --fp16 >> $W/stacked.log 2>&1
} &
{ run 2 mnist configs/mnist_paper.yaml $MNIST_OVERRIDES
  CUDA_VISIBLE_DEVICES=2 python3 scripts/export.py $W/mnist "$OUT/mnist.safetensors" >> $W/mnist.log 2>&1
} &
CUDA_VISIBLE_DEVICES=3 python3 scripts/benchmark.py --steps 300 --out $W/benchmark.json > $W/benchmark.txt 2>&1 &
wait
tail -n 4 $W/*.log
cat $W/benchmark.txt
head -n 40 $W/stacked/modes.txt
last_grids=$(for r in fashion stacked mnist; do ls $W/$r/samples/step_*.png | tail -n 1; done)
tar czf "$OUT/datasets.tgz" $W/cards.txt $W/*.log $W/*.txt $W/*.json $W/*/metrics.jsonl $W/*/*.json \
  $W/*/*.txt $W/*/config.yaml $last_grids
ls -la "$OUT"
