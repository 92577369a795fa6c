#!/usr/bin/env bash
# One device call on a 4-GPU machine for issue 8 (DDP under torchrun):
#  1. 2 GPUs, same seed, fp32: eager vs CUDA graphs with the all-reduces captured; replica
#     checksums asserted at every log step (train.check_replicas); losses compared row by row;
#  2. resume under torchrun with a different world size and graphs on (4 processes, then 2);
#  3. weak scaling, per-GPU batch 256, 64x64 MNIST, 1/2/4 GPUs, graphs and eager.
#   OUT=some/folder bash results/gpu_ddp_graphs.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
W=runs/ddp
mkdir -p "$OUT" $W
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $W/cards.txt
python3 -c 'import torch; print("torch", torch.__version__, "nccl", torch.cuda.nccl.version())' | tee -a $W/cards.txt

ddp() {  # nproc name overrides...
  local n=$1 name=$2; shift 2
  python3 -m torch.distributed.run --standalone --nproc_per_node="$n" scripts/train.py \
    --config configs/mnist_paper.yaml log.progress=false run.dir=$W/$name "$@" >> $W/$name.log 2>&1
  echo "$name: exit $?" | tee -a $W/$name.log
}
SAME=(train.steps=300 train.precision=fp32 train.channels_last=false train.check_replicas=true log.log_every=20
      log.checkpoint_every=300 log.sample_every=300)
ddp 2 eager "${SAME[@]}" train.cuda_graphs=false
ddp 2 graphs "${SAME[@]}" train.cuda_graphs=true
python3 - $W <<'PY'
import json, sys
rows = {m: [json.loads(l) for l in open(f"{sys.argv[1]}/{m}/metrics.jsonl")] for m in ("eager", "graphs")}
keys = ("em_distance", "loss_critic", "loss_generator")
worst = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for a, b in zip(rows["eager"], rows["graphs"]) for k in keys)
print(f"eager vs graphs on 2 GPUs: {len(rows['eager'])} log rows, max relative difference of {keys}: {worst:.3g}")
print("step", rows["eager"][-1]["step"], {k: (rows["eager"][-1][k], rows["graphs"][-1][k]) for k in keys})
PY
grep -h "all-reduces per generator step\|CUDA graphs\|replica" $W/eager.log $W/graphs.log | sort | uniq -c

ddp 4 resume train.steps=100 log.checkpoint_every=50 log.log_every=25 train.check_replicas=true
ddp 2 resume train.steps=200 log.checkpoint_every=50 log.log_every=25 train.check_replicas=true
grep -h "resum\|all-reduces\|global batch\|exit" $W/resume.log

python3 scripts/scaling.py --gpus 1 2 4 --steps 240 --batch 256 --modes graphs eager --out "$OUT/scaling.json" 2>&1 \
  | tee $W/scaling.log
tar czf "$OUT/ddp.tgz" $W/cards.txt $W/*.log $W/*/metrics.jsonl
ls -la "$OUT"
