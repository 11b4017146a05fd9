#!/usr/bin/env bash
# One command from a fresh Debian machine with Python 3.11: system fonts, .venv with everything, a first extraction.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}

# System packages: CJK fonts (synthetic reports, page images), Latin fonts (value cells drawn to train the digit
# recogniser), chromium (the review page's browser test), tesseract with Chinese (a benchmark baseline).
# Skipped where present; without root, say what is missing.
APT="fonts-wqy-zenhei fonts-noto-cjk fonts-liberation fonts-dejavu-core fontconfig chromium tesseract-ocr tesseract-ocr-chi-sim"
missing=$(for p in $APT; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "warning: missing system packages (some tests will skip): $missing" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/pip --disable-pip-version-check -q"
# torch first, by itself: the CPU wheel (a loose pin would pull a multi-GB CUDA build), its dependencies locked.
$PIP install -c requirements.lock "torch==2.13.0"
# Then every package at the version in requirements.lock (scripts/lock.sh writes it). --no-deps: the lock already
# holds every dependency, and it leaves out the opencv-python that rapid-layout, rapid-table and img2table declare
# (the headless OpenCV serves them; two OpenCVs corrupt cv2).
$PIP install --no-deps -r requirements.lock
$PIP install --no-deps -e .
.venv/bin/python -c "import cv2, rapidocr, rapid_layout, rapid_table, torch, transformers; print('environment ok: cv2', cv2.__version__)"

.venv/bin/nianbao extract training/samples/doc-000001.pdf
