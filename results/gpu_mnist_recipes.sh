#!/usr/bin/env bash
# One device call on a 4-GPU machine: MNIST recipes side by side, one per GPU, each trained for
# TRAIN_SECONDS of wall time (then SIGINT: the trainer finishes the step, checkpoints, exits 3),
# then FID/KID on 10k samples against MNIST test for the weight average and the live weights,
# the MNIST-classifier metrics, and fid_2k of every checkpoint (for the EM-vs-FID curve).
#   OUT=folder INCEPTION=path/to/inception.pt bash results/gpu_mnist_recipes.sh "name|overrides" ...
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
TRAIN_SECONDS=${TRAIN_SECONDS:-400}
CONFIG=${CONFIG:-configs/mnist_paper.yaml}
INCEPTION=${INCEPTION:-.devcarry/inception-2015-12-05-fp16.pt}
DEVICE=${DEVICE:-cuda} N_FINAL=${N_FINAL:-10000} N_CKPT=${N_CKPT:-2000}
W=runs/recipes
mkdir -p "$OUT" $W
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > $W/cards.txt 2>&1
python3 -c 'import torch; print("torch", torch.__version__)' >> $W/cards.txt

recipe() {  # gpu "name|override override ..."
  local gpu=$1 name=${2%%|*} overrides=${2#*|}
  local dir=$W/$name ev=(--inception "$INCEPTION" --device "$DEVICE")
  # shellcheck disable=SC2086  # the overrides are words on purpose
  CUDA_VISIBLE_DEVICES=$gpu timeout -s INT "$TRAIN_SECONDS" python3 scripts/train.py --config "$CONFIG" \
    train.steps=10000000 log.checkpoint_every=4000 log.keep_checkpoints=1000 log.sample_every=4000 \
    log.progress=false run.dir=$dir $overrides > $W/$name.log 2>&1
  echo "train exit $? after ${TRAIN_SECONDS}s" >> $W/$name.log
  CUDA_VISIBLE_DEVICES=$gpu python3 scripts/evaluate.py $dir --metrics fid,kid,modes,cfid --n "$N_FINAL" "${ev[@]}" \
    --out $dir/final_average.json >> $W/$name.log 2>&1
  CUDA_VISIBLE_DEVICES=$gpu python3 scripts/evaluate.py $dir --weights live --metrics fid,kid,modes,cfid \
    --n "$N_FINAL" "${ev[@]}" --out $dir/final_live.json >> $W/$name.log 2>&1
  CUDA_VISIBLE_DEVICES=$gpu python3 scripts/evaluate.py $dir/checkpoints/step_*.pt --metrics fid --n "$N_CKPT" \
    "${ev[@]}" --out $dir/fid2k.json > /dev/null 2>> $W/$name.log
  CUDA_VISIBLE_DEVICES=$gpu python3 scripts/export.py $dir "$OUT/$name.safetensors" --fp16 >> $W/$name.log 2>&1
}

gpu=0
for spec in "$@"; do
  recipe $gpu "$spec" &
  gpu=$((gpu + 1))
done
wait
for spec in "$@"; do
  name=${spec%%|*}
  echo "== $name: ${spec#*|}"
  grep -E "^(train exit|wrote|  )|fid|class" $W/$name.log | tail -n 30
done
last_grids=$(for spec in "$@"; do ls $W/${spec%%|*}/samples/step_*.png | tail -n 1; done)
tar czf "$OUT/recipes.tgz" $W/cards.txt $W/*.log $W/*/metrics.jsonl $W/*/*.json $W/*/config.yaml $last_grids
ls -la "$OUT"
