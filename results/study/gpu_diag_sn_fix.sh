#!/usr/bin/env bash
# After capturing each concurrent run's graphs on its own stream (wgan/graphs.py): the hinge runs
# that stopped learning in the concurrent sweep, the sameness check, one speed row (one H200).
#   bash results/study/gpu_diag_sn_fix.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
OUT=$(realpath -m "${OUT:-out}")
mkdir -p "$OUT"
obj="train.objective=hinge train.optimizer= train.betas= model.c_norm="
start=$(date +%s)
python3 scripts/sweep.py --config configs/mnist.yaml --out runs/diag/hinge --no-eval --no-progress --parallel 4 \
  $obj train.lr= train.steps=1000 train.n_critic=1 log.eval_every=100 log.eval_samples=1000 log.log_every=50 \
  log.checkpoint_every=100000 train.seed=0,1,2,3 > "$OUT/diag_hinge.log" 2>&1
echo "== hinge, 4 concurrent runs, CUDA graphs ($(( $(date +%s) - start )) s)"
python3 - runs/diag/hinge/*/metrics.jsonl <<'PY'
import json, sys
for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    print(path.split("/")[-2], [(r["step"], round(r["classifier_fid"]), r["classes_covered"]) for r in rows
                                if "classifier_fid" in r][::3])
PY
python3 scripts/sweep_speed.py same --out "$OUT/same_hinge.json" $obj 2>&1 | grep -v Warning | tail -n 2
python3 scripts/sweep_speed.py same --out "$OUT/same.json" 2>&1 | tail -n 2
python3 scripts/sweep_speed.py speed --k 1,16 --recipes mnist --precisions tf32 --out "$OUT/speed.json" 2>&1 | tail -n 2
