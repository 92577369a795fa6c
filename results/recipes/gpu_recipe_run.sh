#!/usr/bin/env bash
# One recipe run on one H200 for issue 14's targets, from the repository root:
#   bash results/recipes/gpu_recipe_run.sh NAME CONFIG STEPS METRICS [OVERRIDES...]
#   e.g. bash results/recipes/gpu_recipe_run.sh mnist_240k configs/mnist.yaml 240000 fid,modes,cfid
#        bash results/recipes/gpu_recipe_run.sh stacked_nc1 configs/stacked_mnist_clipping.yaml 60000 modes train.n_critic=1
# trains CONFIG for STEPS generator steps (its rates decaying over them where the config decays)
# with quality metrics at 10 evenly spaced steps (log.eval_every: FID of 2,000 samples and the
# MNIST classifier's), then measures METRICS of the weight average on 10,000 samples (26,000 for
# Stacked MNIST's modes) and exports it in float16 with a model card. Prints the training time,
# the metrics and Spearman(EM estimate, FID_2k) over the evaluation steps (scripts/plot_curves.py,
# which also draws both curves). Returns two files,
# $OUT/NAME/generator.safetensors and $OUT/NAME.tgz (logs, eval.json, card, metrics, last grid),
# so that a few runs in one call stay within the 8 files that come back.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
NAME=$1 CONFIG=$2 STEPS=$3 METRICS=$4; shift 4
R=$OUT/$NAME
mkdir -p "$R" runs
source results/inception.sh
# FID_DURING_TRAINING=0 leaves Inception out of the 10 evaluations (classifier metrics only, no Spearman)
[[ ${FID_DURING_TRAINING:-1} == 1 ]] && export WGAN_INCEPTION=$PWD/$INCEPTION
N=${N:-10000}; [[ $METRICS == modes && $CONFIG == *stacked* ]] && N=${N_MODES:-26000}
DEVICE=${DEVICE:-cuda}
rm -rf "runs/$NAME"
start=$(date +%s)
python3 scripts/train.py --config "$CONFIG" train.steps="$STEPS" log.eval_every=$(( STEPS / 10 )) \
  log.sample_every=$(( STEPS / 4 )) log.checkpoint_every=$(( STEPS / 4 )) log.progress=false run.dir="runs/$NAME" "$@" \
  > "$R/train.log" 2>&1
echo "$NAME: train exit $? after $(( $(date +%s) - start )) s (with the 10 evaluations)" | tee -a "$R/train.log"
python3 scripts/evaluate.py "runs/$NAME" --metrics "$METRICS" --n $N --inception "$INCEPTION" --device "$DEVICE" \
  --out "$R/eval.json" > "$R/eval.log" 2>&1 || echo "$NAME: evaluate failed"
grep -E "^(fid|kid|classes_covered|class_kl|classifier_fid|modes_covered|mode_kl)\b" "$R/eval.log" | sed "s/^/$NAME: /"
python3 scripts/export.py "runs/$NAME" "$R/generator.safetensors" --fp16 --card-metrics "$R/eval.json" > /dev/null 2>&1 \
  || echo "$NAME: export failed"
# Spearman(EM estimate, FID_2k) over the evaluation steps, printed, and the two curves in one figure
python3 scripts/plot_curves.py "runs/$NAME" --out "$R/em_fid.png" --title "$NAME: EM estimate and FID_2k" \
  | sed "s/^/$NAME: /" | tee "$R/spearman.txt"
cp "runs/$NAME/metrics.jsonl" "runs/$NAME/run.json" "runs/$NAME/samples/step_$(printf %08d "$STEPS").png" "$R/" 2>/dev/null
# Few files come back from a call: everything but the export travels as one tarball.
tar czf "$OUT/$NAME.tgz" -C "$OUT" --exclude=generator.safetensors "$NAME" && find "$R" -type f ! -name generator.safetensors -delete
ls -la "$R" "$OUT/$NAME.tgz"
