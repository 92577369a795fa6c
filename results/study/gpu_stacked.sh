#!/usr/bin/env bash
# Device call of the study's Stacked MNIST part (one H200), run from the repository root:
#   bash results/study/gpu_stacked.sh SECONDS
# unpacks the committed study runs (results/study/v2/study_shards_*.tgz: metrics and summaries,
# no weights) into runs/study, trains each objective's best setting there on Stacked MNIST for
# both seeds (scripts/study.py --stacked-from, 12 runs, the study's 3,000 steps) within SECONDS,
# with modes and mode KL of 26,000 samples each at the end, and returns the runs without
# checkpoints, samples and TensorBoard files.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
LIMIT=$1
mkdir -p "$OUT" runs
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"
rm -rf runs/study runs/study_stacked
for t in results/study/v2/study_shards_*.tgz; do tar xzf "$t" -C runs; done
python3 scripts/study.py --out runs/study_stacked --stacked-from runs/study --dry-run | tee "$OUT/stacked_plan.txt"
start=$(date +%s)
timeout -s TERM -k 60 "$LIMIT" python3 scripts/study.py --out runs/study_stacked --stacked-from runs/study \
  --no-progress > "$OUT/stacked.log" 2>&1
echo "stacked exit $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/stacked.log"
grep -E "finished at|failed|error|Traceback" "$OUT/stacked.log" | head -n 30
python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["name"], r["status"], r["step"], "modes", r["modes_covered"], "KL", r["mode_kl"], r["wall_s"], "s")' \
  runs/study_stacked/summary.csv
tar czf "$OUT/stacked.tgz" --exclude=checkpoints --exclude=samples --exclude='events.out.tfevents*' \
  --exclude='*.safetensors' runs/study_stacked
