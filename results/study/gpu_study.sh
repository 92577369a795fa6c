#!/usr/bin/env bash
# One device call of the study (one H200), run from the repository root:
#   bash results/study/gpu_study.sh I N SECONDS
# trains shard I of N of scripts/study.py's 216 runs for at most SECONDS (a SIGTERM then makes
# every running run checkpoint; re-running resumes), computes FID 10k of each objective's best
# run of the shard (needs .devcarry/inception-2015-12-05-fp16.pt), and returns the shard's run
# directories without checkpoints, samples and TensorBoard files.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
I=$1 N=$2 LIMIT=$3
mkdir -p "$OUT" runs
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"
start=$(date +%s)
timeout -s TERM -k 90 "$LIMIT" python3 scripts/study.py --out runs/study --shard "$I/$N" --no-progress \
  > "$OUT/study_$I.log" 2>&1
echo "study exit $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/study_$I.log"
grep -cE ": finished at" "$OUT/study_$I.log"
grep -E "failed|error|Traceback" "$OUT/study_$I.log" | head -n 20
python3 results/study/best_fid.py "runs/study/summary.shard-$I-of-$N.csv" \
  --inception .devcarry/inception-2015-12-05-fp16.pt --out "$OUT/fid_shard$I.json" > "$OUT/fid_$I.log" 2>&1
cat "$OUT/fid_shard$I.json"
tar czf "$OUT/study_shard$I.tgz" --exclude=checkpoints --exclude=samples --exclude='events.out.tfevents*' \
  --exclude='*.safetensors' runs/study
ls -la "$OUT"
