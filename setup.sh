#!/usr/bin/env bash
# One command from a fresh Debian machine with Python 3.11: system fonts, .venv with everything, a first extraction.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}

# CJK fonts for rendering synthetic reports and the review page (skipped where present or not root).
if ! fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fonts-noto-cjk fontconfig >/dev/null
  else
    echo "warning: no CJK fonts found; install fonts-wqy-zenhei fonts-noto-cjk" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/pip --disable-pip-version-check -q"
$PIP install "torch==2.13.0"      # the CPU wheel; a loose pin would pull a multi-GB CUDA build
$PIP install -e ".[dev]"
# These declare opencv-python; the headless OpenCV already installed serves them (two OpenCVs corrupt cv2).
$PIP install --no-deps "rapid-layout==1.2.1" "rapid-table==0.3.0"
.venv/bin/python -c "import cv2, rapidocr, rapid_layout, rapid_table, torch, transformers; print('environment ok: cv2', cv2.__version__)"

.venv/bin/nianbao extract tests/data/sample_report.txt
