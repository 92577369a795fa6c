#!/usr/bin/env bash
# Issue 17 in one device call on a machine with several GPUs (nvidia-h200-x2 or -x4), from the
# repository root:   bash results/multigpu/gpu_multi.sh
#  1. DDP on 2 GPUs (and 4 where there are 4), fp32, same seed: eager vs CUDA graphs with the
#     all-reduces captured, replica checksums asserted at every log step (system.check_replicas),
#     losses compared row by row, all-reduces per generator step as the trainer counts them;
#  2. resume under torchrun with another number of processes (all GPUs, then 2), graphs on;
#  3. weak scaling, per-GPU batch 256, 64x64 MNIST, 1/2/(4) GPUs (scripts/scaling.py);
#  4. one sweep spread over all GPUs (--processes gpus) against the same sweep on one GPU, and
#     4 runs spread over the GPUs bitwise against each run alone (scripts/sweep_speed.py spread).
# NVLink multicast stays off (the device tool's KINDS.md).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=$(realpath -m "${OUT:-out}")
W=runs/ddp
mkdir -p "$OUT" $W
GPUS=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "nccl", torch.cuda.nccl.version())'; } | tee "$OUT/cards.txt"

ddp() {  # nproc name overrides...
  local n=$1 name=$2; shift 2
  python3 -m wgan.launch --standalone --nproc_per_node="$n" scripts/train.py \
    --config configs/mnist_paper.yaml log.progress=false run.dir=$W/$name "$@" >> $W/$name.log 2>&1
  echo "$name: exit $?" | tee -a $W/$name.log
}
SAME=(train.steps=300 system.precision=fp32 system.channels_last=false system.check_replicas=true log.log_every=20
      log.checkpoint_every=300 log.sample_every=300)
for n in 2 $( (( GPUS >= 4 )) && echo 4 ); do
  ddp "$n" eager$n "${SAME[@]}" system.cuda_graphs=false
  ddp "$n" graphs$n "${SAME[@]}" system.cuda_graphs=true
  python3 scripts/loss_diff.py $W/eager$n $W/graphs$n --label "eager vs graphs on $n GPUs"
  grep -h "all-reduces per generator step\|CUDA graphs\|replica" $W/eager$n.log $W/graphs$n.log | sort | uniq -c
done
ddp "$GPUS" resume train.steps=100 log.checkpoint_every=50 log.log_every=25 system.check_replicas=true
ddp 2 resume train.steps=200 log.checkpoint_every=50 log.log_every=25 system.check_replicas=true
grep -h "resum\|all-reduces\|global batch\|exit" $W/resume.log

python3 scripts/scaling.py --gpus 1 2 $( (( GPUS >= 4 )) && echo 4 ) --steps 240 --batch 256 --modes graphs eager \
  --out "$OUT/scaling.json" 2>&1 | tee $W/scaling.log
python3 scripts/sweep_speed.py spread --steps 1000 --out "$OUT/spread.json" 2>&1 | tee $W/spread.log
tar czf "$OUT/ddp.tgz" $W/*.log $W/*/metrics.jsonl
ls -la "$OUT"
