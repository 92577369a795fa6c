"""FID (10k generated vs the MNIST test split) of each objective's best finished run of a study
summary, by final classifier FID; writes {run name: FID} for scripts/study_report.py --fid.

    python results/study/best_fid.py runs/study/summary.csv --inception FILE --out fid.json \
        [--previous results/study/v2/summary.shard-*.csv]

--previous: summaries of shards trained in earlier device calls (their checkpoints are gone); an
objective whose best run here is not better than its best there is not measured again.
"""

import argparse
import json
import os
import subprocess
import sys

from wgan.files import write_json
from wgan.sweep import read_summary


def measured(paths):
    """(classifier FID, row, its folder) of every finished run with one in these summaries."""
    for path in paths:
        for row in read_summary(path):
            if row["status"] == "finished" and row.get("classifier_fid"):
                yield float(row["classifier_fid"]), row, os.path.dirname(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summaries", nargs="+")
    parser.add_argument("--inception", required=True)
    parser.add_argument("--per-objective", type=int, default=1)
    parser.add_argument("--previous", nargs="*", default=[])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    best, before = {}, {}
    for fid, row, folder in measured(args.summaries):
        best.setdefault(row["objective"], []).append((fid, row["name"], folder))
    for fid, row, _ in measured(args.previous):
        before[row["objective"]] = min(before.get(row["objective"], float("inf")), fid)
    picks = [(name, folder) for objective, rows in best.items()
             for fid, name, folder in sorted(rows)[:args.per_objective] if fid < before.get(objective, float("inf"))]
    if not picks:
        print("no finished run with a classifier FID better than the earlier shards'", file=sys.stderr)
        write_json(args.out, {})
        return 0
    raw = args.out + ".raw.json"
    subprocess.run([sys.executable, "scripts/evaluate.py", *(os.path.join(f, n) for n, f in picks), "--metrics", "fid",
                    "--n", "10000", "--inception", args.inception, "--device", "cuda", "--out", raw], check=True)
    with open(raw) as handle:
        results = json.load(handle)
    results = results if isinstance(results, list) else [results]
    write_json(args.out, {name: r["metrics"]["fid"] for (name, _), r in zip(picks, results)})
    os.remove(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
