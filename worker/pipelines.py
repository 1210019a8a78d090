"""Warm pipelines: loaded once per worker process, reused for every job of the same model.

Loading HunyuanVideo takes minutes and ~40 GB; a worker keeps one model (by default) and only
swaps when a job for another model arrives on a queue it also consumes.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from model import ModelSpec
from model.generation import VideoGenerator
from model.loading import load_pipeline
from worker import metrics
from worker.estimates import StageEstimates

log = logging.getLogger(__name__)


class PipelineCache:
    def __init__(self, models_dir: Path, device: str, max_loaded: int = 1, estimates: StageEstimates | None = None):
        self.models_dir = models_dir
        self.device = device
        self.max_loaded = max_loaded
        # What the runs of these pipelines took (``worker.estimates``): loads are recorded here.
        self.estimates = estimates or StageEstimates()
        self._loaded: OrderedDict[str, VideoGenerator] = OrderedDict()
        self._lock = threading.Lock()

    def is_loaded(self, name: str) -> bool:
        """Whether ``get`` would return at once for the model ``name`` (no load)."""
        with self._lock:
            return name in self._loaded

    def get(self, spec: ModelSpec) -> VideoGenerator:
        with self._lock:
            if spec.name in self._loaded:
                self._loaded.move_to_end(spec.name)
                return self._loaded[spec.name]
            while len(self._loaded) >= self.max_loaded:
                evicted, _ = self._loaded.popitem(last=False)
                log.info("unloading model %s", evicted)
                metrics.MODEL_READY.labels(model=evicted).set(0)
                self._free_memory()
            log.info("loading model %s from %s onto %s", spec.name, self.models_dir, self.device)
            metrics.MODEL_READY.labels(model=spec.name).set(0)
            started = time.monotonic()
            generator = VideoGenerator(spec, load_pipeline(spec, self.models_dir, self.device))
            seconds = time.monotonic() - started
            log.info("loaded model %s in %.1f s", spec.name, seconds)
            metrics.MODEL_LOAD_SECONDS.labels(model=spec.name).set(seconds)
            metrics.MODEL_READY.labels(model=spec.name).set(1)
            self.estimates.record_load(spec.name, seconds)
            self._loaded[spec.name] = generator
            return generator

    @staticmethod
    def _free_memory() -> None:
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a worker dependency
            pass
