#!/usr/bin/env bash
# One device call on a 4-GPU machine: weak scaling (issue 8), then, in parallel on separate
# GPUs, the benchmark table (issue 3) and the fast path next to the eager path for the same
# 6,000 generator steps of configs/mnist_paper.yaml (issue 3's quality check).
#   OUT=some/folder bash results/gpu_speed_and_scaling.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
mkdir -p "$OUT" runs/gpu
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee runs/gpu/cards.txt
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a runs/gpu/cards.txt

python3 scripts/scaling.py --gpus 1 2 4 --steps 240 --batch 256 --out "$OUT/scaling.json" 2>&1 | tee runs/gpu/scaling.log

STEPS=6000
side() {  # name gpu overrides...
  local name=$1 gpu=$2; shift 2
  CUDA_VISIBLE_DEVICES=$gpu /usr/bin/time -f "$name wall %e s" python3 scripts/train.py --config configs/mnist_paper.yaml \
    train.steps=$STEPS log.sample_every=1000 log.checkpoint_every=$STEPS log.progress=false run.dir=runs/gpu/$name "$@" \
    > runs/gpu/$name.log 2>&1
  CUDA_VISIBLE_DEVICES=$gpu python3 scripts/evaluate.py runs/gpu/$name --metrics modes,cfid --n 10000 --device cuda \
    --out runs/gpu/$name/eval.json >> runs/gpu/$name.log 2>&1
}
CUDA_VISIBLE_DEVICES=0 python3 scripts/benchmark.py --steps 300 --out "$OUT/benchmark.json" \
  --profile "$OUT/profile.txt" > "$OUT/benchmark.txt" 2>&1 &
side eager_fp32 1 train.cuda_graphs=false train.precision=fp32 train.channels_last=false &
side fast_tf32 2 &
side fast_bf16 3 train.precision=bf16 &
wait
tail -n 3 runs/gpu/*.log
cat "$OUT/benchmark.txt"
tar czf "$OUT/side_by_side.tgz" runs/gpu/cards.txt runs/gpu/*.log runs/gpu/*/metrics.jsonl runs/gpu/*/eval.json runs/gpu/*/samples/*.png
ls -la "$OUT"
