# syntax=docker/dockerfile:1.7
# Two images from one file:
#   docker build --target api -t videogen-api .      (small: no torch)
#   docker build --target worker -t videogen-worker .  (CUDA PyTorch base)

# ---------------------------------------------------------------------------- sources
FROM scratch AS source
COPY pyproject.toml README.md alembic.ini /src/
COPY api /src/api
COPY cli /src/cli
COPY model /src/model
COPY videogen /src/videogen
COPY worker /src/worker
COPY migrations /src/migrations

# ---------------------------------------------------------------------------- API
FROM python:3.11-slim AS api
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY --from=source /src ./
RUN pip install ".[tracing]" && useradd --create-home --uid 10001 videogen \
 && mkdir -p /var/lib/videogen && chown videogen /var/lib/videogen
USER videogen
ENV VIDEOGEN_API_HOST=0.0.0.0 VIDEOGEN_DATA_DIR=/var/lib/videogen
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["videogen", "serve", "--workers", "2"]

# ---------------------------------------------------------------------------- worker
FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime AS worker
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY --from=source /src ./
# torch comes from the base image (CUDA build); pip keeps it because it satisfies torch>=2.4.
# Both images carry the tracing extra, so turning tracing on is a setting, not a rebuild.
RUN pip install ".[worker,tracing]" && useradd --create-home --uid 10001 videogen \
 && mkdir -p /var/lib/videogen && chown videogen /var/lib/videogen
USER videogen
ENV VIDEOGEN_MODELS_DIR=/models VIDEOGEN_DEVICE=cuda HF_HUB_OFFLINE=1 VIDEOGEN_DATA_DIR=/var/lib/videogen
VOLUME ["/models"]
CMD ["videogen", "worker"]
