"""The worker's Celery application: ``celery -A worker.celery_app worker`` (or ``videogen worker``)."""

from __future__ import annotations

import logging
from functools import lru_cache

from celery.signals import celeryd_after_setup, worker_init
from prometheus_client import start_http_server

from model import ModelRegistry
from videogen import broker
from videogen.broker import GENERATE_TASK
from videogen.settings import get_settings
from videogen.storage import storage_from_settings
from worker import metrics
from worker.pipelines import PipelineCache
from worker.process import celery_process
from worker.runner import JobRunner, run_message
from worker.warmup import warm_up

log = logging.getLogger(__name__)

settings = get_settings()
app = celery_process(settings, "videogen-worker")  # a job's end nudges the webhook workers at once


@lru_cache(maxsize=1)
def get_runner() -> JobRunner:
    """One runner, and so one set of warm pipelines, per worker process."""
    assert settings.models_dir is not None
    return JobRunner(
        settings=settings,
        storage=storage_from_settings(settings),
        registry=ModelRegistry.from_file(settings.models_file),
        pipelines=PipelineCache(settings.models_dir, settings.device, max_loaded=settings.worker_loaded_models),
    )


@worker_init.connect
def _start_metrics_server(**_: object) -> None:
    """First thing: a scrape then sees ``videogen_worker_ready`` 0 while the models load."""
    metrics.READY.set(0)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port)


@celeryd_after_setup.connect
def _warm_up(instance: object = None, **_: object) -> None:
    """Before the consumer starts (logging is set up by then, so the load times reach the log):
    the models this worker's queues are for, loaded and warmed up (``worker.warmup``)."""
    for name in served_models(instance):
        # Every model this worker serves has a readiness series from the start: 0 until it is loaded.
        metrics.MODEL_READY.labels(model=name).set(0)
    if not settings.worker_warmup:
        metrics.READY.set(1)
        return
    runner = get_runner()
    warm_up(runner.pipelines, [runner.registry.get(name) for name in served_models(instance)])


def served_models(worker: object) -> list[str]:
    """The models whose queues ``worker`` consumes (``--queues``), in the settings' order."""
    queues = getattr(getattr(getattr(worker, "app", app), "amqp", None), "queues", None)
    consumed = set(queues.consume_from) if queues is not None and queues.consume_from else None
    return [name for name in settings.models if consumed is None or broker.queue_for_model(name) in consumed]


@app.task(name=GENERATE_TASK)
def generate_video(video_id: str) -> str:
    """One nudge. If the database cannot be reached, the message goes back to the broker
    (``celery.exceptions.Reject(requeue=True)``, see ``worker.runner.run_message``) instead of
    being acknowledged: with ``acks_late`` a task that returned or raised would be acknowledged."""
    return str(run_message(get_runner(), video_id))
