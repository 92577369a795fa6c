#!/usr/bin/env bash
# Set up (venv + package with test extras) and run the test suite. Safe to re-run.
# -rs: every skipped test is listed with its reason at the end (e.g. the viewer tests without Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
# torch from PyPI comes with its CUDA libraries, several GB in the venv; with too little disk pip
# stops half-way with "No space left on device", so say so before installing anything.
if ! { [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; }; then
  free_gib=$(( $(df -Pk . | awk 'NR==2 {print $4}') / 1024 / 1024 ))
  if [ "$free_gib" -lt 7 ]; then
    echo "error: only ${free_gib} GiB of disk free here, and the test venv (torch with its CUDA" \
         "libraries) needs about 7 GiB; free some space (old clones' .venv folders, pip's cache) and run again" >&2
    exit 1
  fi
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q -e '.[test,plots]'
exec .venv/bin/python -m pytest -rs "$@"
