# Nianbao: the CLI and the HTTP service in one image.
#   docker build -t nianbao .
#   docker run --rm -p 8000:8000 -v "$PWD/data:/data" nianbao                 # API + review page on :8000
#   docker run --rm -v "$PWD:/work" nianbao nianbao extract /work/report.pdf  # the CLI
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei fonts-noto-cjk fontconfig libgomp1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 NIANBAO_DATA_DIR=/data NIANBAO_HOST=0.0.0.0 NIANBAO_PORT=8000

# Every version comes from requirements.lock (scripts/lock.sh). The CPU build of torch first, named by its local
# label: a plain `torch` requirement would pull a multi-GB CUDA build.
COPY requirements.lock ./
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c requirements.lock "torch==2.13.0+cpu"
COPY pyproject.toml README.md ./
COPY service ./service
COPY models ./models
COPY training ./training
COPY eval ./eval
# The runtime dependencies at their locked versions (no test or Ray packages in the image).
RUN pip install -c requirements.lock . \
 # rapid-layout and rapid-table declare opencv-python; the headless OpenCV installed above serves them.
 && pip install --no-deps -c requirements.lock rapid-layout rapid-table \
 && python -c "import cv2, rapidocr, rapid_layout, rapid_table, service.pipeline"

VOLUME /data
EXPOSE 8000
CMD ["nianbao", "serve"]
