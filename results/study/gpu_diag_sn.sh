#!/usr/bin/env bash
# Diagnosis of the spectrally normalised runs that learned alone but not in the study's
# concurrent sweep (one H200):  bash results/study/gpu_diag_sn.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
mkdir -p "$OUT"
obj="train.objective=hinge train.optimizer= train.betas= model.c_norm="
python3 scripts/sweep_speed.py same --out "$OUT/same_hinge.json" $obj 2>&1 | grep -v Warning | tail -n 2
curve() { python3 - "$@" <<'PY'
import json, sys
for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    print(path.split("/")[-2], [(r["step"], round(r["classifier_fid"]), r["classes_covered"]) for r in rows
                                if "classifier_fid" in r][::3])
PY
}
for variant in "system.cuda_graphs=true" "system.cuda_graphs=false" "system.deterministic=true"; do
  name=$(echo "$variant" | tr '.=' '__')
  start=$(date +%s)
  python3 scripts/sweep.py --config configs/mnist.yaml --out "runs/diag/$name" --no-eval --no-progress --parallel 4 \
    $obj train.lr= train.steps=1000 train.n_critic=1 log.eval_every=100 log.eval_samples=1000 log.log_every=50 \
    log.checkpoint_every=100000 "$variant" train.seed=0,1,2,3 > "$OUT/diag_$name.log" 2>&1
  echo "== $variant ($(( $(date +%s) - start )) s)"
  curve runs/diag/$name/*/metrics.jsonl
done
