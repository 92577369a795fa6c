#!/usr/bin/env python3
"""Figures, tables and the verdict of a finished Lucic-style study of the write-up's WGAN claims.

    python scripts/study_report.py STUDY_DIR [--out docs/study] [--stacked STACKED_DIR] [--fid fid10k.json]

STUDY_DIR is the study sweep's --out folder (summary.csv and one run directory per run). Writes
fid_by_objective.png, fid_fractions.png, fid_fractions_by_arch.png, spearman_em_fid.png,
tables.md and study.json into --out. The rules (what counts, divergence, the verdicts) are in
wgan/study_report.py's docstring and in tables.md. Needs matplotlib (pip install -e '.[plots]').
"""

import sys

from wgan.study_output import main

if __name__ == "__main__":
    sys.exit(main())
