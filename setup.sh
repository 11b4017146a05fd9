#!/usr/bin/env bash
# One command from a fresh Debian machine with Python 3.11: system fonts, .venv with everything, a first extraction.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}

# System packages: CJK fonts (synthetic reports, page images), chromium (the review page's browser test),
# tesseract with Chinese (a benchmark baseline). Skipped where present; without root, say what is missing.
APT="fonts-wqy-zenhei fonts-noto-cjk fontconfig chromium tesseract-ocr tesseract-ocr-chi-sim"
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
$PIP install "torch==2.13.0"      # the CPU wheel; a loose pin would pull a multi-GB CUDA build
$PIP install -e ".[dev,ray]"
# These declare opencv-python; the headless OpenCV already installed serves them (two OpenCVs corrupt cv2).
$PIP install --no-deps "rapid-layout==1.2.1" "rapid-table==0.3.0"
# The Tesseract baseline of the benchmark: img2table declares opencv-contrib-python (eval/baselines/tesseract.py
# supplies the one contrib function it calls).
$PIP install --no-deps "img2table==2.0.0"
.venv/bin/python -c "import cv2, rapidocr, rapid_layout, rapid_table, torch, transformers; print('environment ok: cv2', cv2.__version__)"

.venv/bin/nianbao extract training/samples/doc-000001.pdf
