#!/usr/bin/env bash
# Are spectrally normalised runs the same concurrently as alone, and does a hinge run of the
# study's config learn alone? (one H200)  bash results/study/gpu_check_sn.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
mkdir -p "$OUT"
obj="train.optimizer= train.betas= model.c_norm="
python3 scripts/sweep_speed.py same --modes true --out "$OUT/same_hinge.json" train.objective=hinge $obj 2>&1 | tail -n 1
python3 scripts/sweep_speed.py same --modes true --out "$OUT/same_wgan_gp.json" train.objective=wgan-gp $obj 2>&1 | tail -n 1
for ema in 0.999 0; do
  python3 scripts/train.py --config configs/mnist.yaml train.objective=hinge $obj train.lr= train.steps=1000 \
    train.n_critic=1 train.ema=$ema log.eval_every=100 log.eval_samples=1000 log.log_every=50 log.progress=false \
    log.checkpoint_every=100000 run.dir=runs/hinge_solo_ema$ema > "$OUT/hinge_solo_ema$ema.log" 2>&1
  python3 - "runs/hinge_solo_ema$ema/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(sys.argv[1], [(r["step"], round(r["classifier_fid"], 1), r["classes_covered"]) for r in rows if "classifier_fid" in r])
print("em", [(r["step"], round(r["em_distance"], 3)) for r in rows if "em_distance" in r][::4])
PY
done
