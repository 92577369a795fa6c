#!/usr/bin/env bash
# Set up (venv + package with test extras) and run the test suite. Safe to re-run.
# -rs: every skipped test is listed with its reason at the end (e.g. the viewer tests without Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q -e '.[test,plots]'
exec .venv/bin/python -m pytest -rs "$@"
