#!/usr/bin/env bash
# One device call on a 4-GPU machine: up to four training runs side by side, one per GPU, each
# for its config's train.steps (TRAIN_SECONDS is only a safety limit: SIGINT, the trainer
# checkpoints and stops), then evaluated on the same GPU by what the dataset allows:
#   mnist:         FID/KID (10k vs test) + classifier metrics of the weight average, fid_2k of
#                  every checkpoint (the EM-vs-FID rank correlation); without INCEPTION only
#                  the classifier metrics
#   stacked_mnist: modes and KL over 26,000 samples at every checkpoint
#   other:         exported only (FID afterwards, where the Inception network is)
#   OUT=folder bash results/gpu_quality.sh "name|config|override override ..." ...
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-out}
TRAIN_SECONDS=${TRAIN_SECONDS:-480}
INCEPTION=${INCEPTION:-.devcarry/inception-2015-12-05-fp16.pt}
N_CKPT=${N_CKPT:-2000}
W=runs/quality
mkdir -p "$OUT" $W
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__)'; } > $W/cards.txt 2>&1

one() {  # gpu "name|config|overrides"
  local gpu=$1 spec=$2
  local name=${spec%%|*} rest=${spec#*|}
  local config=${rest%%|*} overrides=${rest#*|}
  local dir=$W/$name
  export CUDA_VISIBLE_DEVICES=$gpu
  # shellcheck disable=SC2086  # the overrides are words on purpose
  /usr/bin/time -f "train wall %e s" timeout -s INT "$TRAIN_SECONDS" python3 scripts/train.py --config "$config" \
    log.keep_checkpoints=1000 log.progress=false run.dir=$dir $overrides > $W/$name.log 2>&1
  echo "train exit $?" >> $W/$name.log
  case $(python3 -c "import yaml,sys; print(yaml.safe_load(open('$dir/config.yaml'))['data']['name'])") in
    mnist)
      if [ ! -f "$INCEPTION" ]; then    # not carried: the classifier metrics only, FID afterwards
        python3 scripts/evaluate.py $dir --metrics modes,cfid --n 10000 --device cuda \
          --out $dir/final_average.json >> $W/$name.log 2>&1
      else
        python3 scripts/evaluate.py $dir --metrics fid,kid,modes,cfid --n 10000 --inception "$INCEPTION" \
          --device cuda --out $dir/final_average.json >> $W/$name.log 2>&1
        python3 scripts/evaluate.py $dir/checkpoints/step_*.pt --metrics fid --n "$N_CKPT" --inception "$INCEPTION" \
          --device cuda --out $dir/fid2k.json > /dev/null 2>> $W/$name.log
      fi ;;
    stacked_mnist)
      python3 scripts/evaluate.py $dir/checkpoints/step_*.pt --metrics modes --n 26000 --device cuda \
        --out $dir/modes.json > $dir/modes.txt 2>> $W/$name.log ;;
  esac
  python3 scripts/export.py $dir "$OUT/$name.safetensors" --fp16 >> $W/$name.log 2>&1
}

gpu=0
for spec in "$@"; do
  one $gpu "$spec" &
  gpu=$((gpu + 1))
done
wait
for spec in "$@"; do
  name=${spec%%|*}
  echo "== $name: ${spec#*|}"
  grep -E "^(train|wrote|  )|fid|class|Traceback|Error" $W/$name.log | tail -n 25
  [ -f $W/$name/modes.txt ] && tail -n 5 $W/$name/modes.txt
done
last_grids=$(for spec in "$@"; do ls $W/${spec%%|*}/samples/step_*.png | tail -n 1; done)
tar czf "$OUT/quality.tgz" $W/cards.txt $W/*.log $W/*/metrics.jsonl $W/*/*.json $W/*/*.txt $W/*/config.yaml $last_grids
ls -la "$OUT"
