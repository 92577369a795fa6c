#!/usr/bin/env bash
# One device call: bf16 autocast + channels_last + CUDA graphs under torchrun on 2 and 4 GPUs,
# replicas checked at every log step (configs/mnist.yaml, 300 steps).
#   OUT=some/folder bash results/gpu_ddp_bf16.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
mkdir -p "$OUT"
for n in 2 4; do
  python3 -m torch.distributed.run --standalone --nproc_per_node=$n scripts/train.py --config configs/mnist.yaml \
    train.precision=bf16 train.check_replicas=true train.steps=300 log.log_every=50 log.progress=false \
    log.checkpoint_every=300 log.sample_every=300 run.dir=runs/ddp_bf16_$n > "$OUT/bf16_$n.log" 2>&1
  echo "$n GPUs: exit $?"
  grep -h "CUDA graphs\|all-reduces\|^done" "$OUT/bf16_$n.log" | sort -u
  tail -n 1 runs/ddp_bf16_$n/metrics.jsonl
done
