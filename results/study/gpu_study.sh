#!/usr/bin/env bash
# Device call(s) of the study (one H200), run from the repository root:
#   bash results/study/gpu_study.sh SHARDS N SECONDS        e.g.  bash results/study/gpu_study.sh 0,1 8 540
# trains the listed shards of N of scripts/study.py's 216 runs one after the other, all within
# SECONDS: a shard starts only when the time left holds it (the previous shard's duration, 300 s
# for the first), and a SIGTERM at the deadline makes running runs checkpoint (re-running resumes,
# but checkpoints do not come back from the device). Then FID 10k of each objective's best
# run of this call's shards when it beats the earlier shards' best (results/study/v2/; needs
# .devcarry/inception-2015-12-05-fp16.pt, or the same .xz-packed), then a tarball of the shard's run directories without
# checkpoints, samples and TensorBoard files.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
SHARDS=$1 N=$2 LIMIT=$3
RESERVE=100                    # FID 10k of up to six runs (Inception in fp32) and the tarball
mkdir -p "$OUT" runs
source results/inception.sh
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/cards.txt" 2>&1
cat "$OUT/cards.txt"
shopt -s nullglob
earlier=(results/study/v2/summary.shard-*.csv)
begin=$(date +%s) need=300 trained=()
for I in ${SHARDS//,/ }; do
  left=$(( LIMIT - ($(date +%s) - begin) ))
  if (( left < need + RESERVE )); then echo "shard $I skipped: ${left} s left, about $((need + RESERVE)) s needed"; continue; fi
  start=$(date +%s)
  timeout -s TERM -k 60 "$(( left - RESERVE ))" python3 scripts/study.py --out runs/study --shard "$I/$N" --no-progress \
    > "$OUT/study_$I.log" 2>&1
  echo "shard $I: study exit $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/study_$I.log"
  echo "finished runs: $(grep -cE ': finished at' "$OUT/study_$I.log")"
  grep -E "failed|error|Traceback" "$OUT/study_$I.log" | head -n 20
  trained+=("runs/study/summary.shard-$I-of-$N.csv")
  need=$(( $(date +%s) - start ))
done
if (( ${#trained[@]} )); then
  python3 results/study/best_fid.py "${trained[@]}" --previous "${earlier[@]}" \
    --inception "$INCEPTION" --out "$OUT/fid_${SHARDS//,/_}.json" > "$OUT/fid.log" 2>&1
  cat "$OUT/fid_${SHARDS//,/_}.json"; echo
fi
tar czf "$OUT/study_${SHARDS//,/_}.tgz" --exclude=checkpoints --exclude=samples --exclude='events.out.tfevents*' \
  --exclude='*.safetensors' runs/study
echo "call total $(( $(date +%s) - begin )) s"
ls -la "$OUT"
