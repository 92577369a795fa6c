#!/usr/bin/env bash
# The critic_warmup comparison of docs/results.md (CPU config, 1,500 generator steps each).
cd "$(dirname "$0")/.." || exit 1
for w in false true; do
  /usr/bin/time -f "warmup=$w wall %e s" .venv/bin/python scripts/train.py --config configs/mnist_cpu.yaml train.steps=1500 train.critic_warmup=$w run.dir=/tmp/warm_$w log.progress=false > /tmp/warm_$w.log 2>&1
  tail -1 /tmp/warm_$w.log
  .venv/bin/python scripts/evaluate.py /tmp/warm_$w --metrics modes,cfid --n 10000 --device cpu --out /tmp/warm_$w.json 2>&1 | tail -8
done
