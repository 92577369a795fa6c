#!/usr/bin/env bash
# One device call on a 4-GPU machine: is the eager-vs-graphs difference under torchrun a bug or
# cuDNN autotuning? The same 2-GPU run (configs/mnist_paper.yaml, fp32, 300 steps, replicas
# checked) four times with autotuning (eager, graphs, each twice) and twice with
# train.deterministic=true (eager, graphs); two runs at a time, on GPUs 0,1 and 2,3.
#   OUT=some/folder bash results/gpu_ddp_repeat.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
W=runs/ddp_repeat
mkdir -p "$OUT" $W
SAME=(train.steps=300 train.precision=fp32 train.channels_last=false train.check_replicas=true log.log_every=20
      log.checkpoint_every=300 log.sample_every=300 log.progress=false)
ddp() {  # gpus name overrides...
  local gpus=$1 name=$2; shift 2
  CUDA_VISIBLE_DEVICES=$gpus python3 -m torch.distributed.run --standalone --nproc_per_node=2 scripts/train.py \
    --config configs/mnist_paper.yaml "${SAME[@]}" run.dir=$W/$name "$@" > $W/$name.log 2>&1
  echo "$name: exit $?"
}
ddp 0,1 eager_a train.cuda_graphs=false & ddp 2,3 graphs_a train.cuda_graphs=true & wait
ddp 0,1 eager_b train.cuda_graphs=false & ddp 2,3 graphs_b train.cuda_graphs=true & wait
ddp 0,1 det_eager train.cuda_graphs=false train.deterministic=true &
ddp 2,3 det_graphs train.cuda_graphs=true train.deterministic=true & wait
python3 - $W <<'PY'
import json, sys
def rows(name):
    return [json.loads(line) for line in open(f"{sys.argv[1]}/{name}/metrics.jsonl")]
keys = ("em_distance", "loss_critic", "loss_generator")
for a, b in (("eager_a", "eager_b"), ("graphs_a", "graphs_b"), ("eager_a", "graphs_a"), ("det_eager", "det_graphs")):
    ra, rb = rows(a), rows(b)
    same = sum(all(x[k] == y[k] for k in keys) for x, y in zip(ra, rb))
    worst = max(abs(x[k] - y[k]) / max(abs(x[k]), 1e-12) for x, y in zip(ra, rb) for k in keys)
    print(f"{a:>9} vs {b:<10}: {same}/{len(ra)} log rows bitwise equal, max relative difference {worst:.3g}")
PY
grep -h "all-reduces per generator step" $W/*.log | sort | uniq -c
tar czf "$OUT/ddp_repeat.tgz" $W/*.log $W/*/metrics.jsonl
