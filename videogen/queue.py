"""The Celery application both sides share: the API sends by task name, workers run the task.

The broker only carries "video X is ready to run" nudges. The job itself lives in the database, so
a message lost in the broker is re-sent by the reconciler (``videogen.jobs.reconcile``) and a
duplicate message is harmless (a worker must win an atomic claim before it runs a job).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery

from videogen import embedded_broker
from videogen.settings import Settings

log = logging.getLogger(__name__)

GENERATE_TASK = "videogen.generate_video"
DELIVER_WEBHOOK_TASK = "videogen.deliver_webhook"
# Deliveries have their own queue and workers: a slow receiver must never hold a GPU.
WEBHOOK_QUEUE = "videogen.webhooks"
# Long generations must not be redelivered to a second worker while the first is still busy:
# Redis re-queues unacknowledged messages after this long (a 720p HunyuanVideo clip takes ~30 min).
VISIBILITY_TIMEOUT_SECONDS = 4 * 3600


def queue_for_model(model: str) -> str:
    """One queue per model: a GPU worker holds one model in memory and consumes only its queue."""
    return f"videogen.{model}"


def make_celery(settings: Settings) -> Celery:
    app = Celery("videogen", broker=settings.broker_url, set_as_current=False)
    transport_options: dict[str, object] = {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS}
    if settings.is_embedded_broker:
        app.conf.broker_transport = embedded_broker.TRANSPORT
        folder = settings.broker_dir
        (folder / "processed").mkdir(parents=True, exist_ok=True)
        transport_options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder / "processed"),
            # kombu's default is ./control, relative to whatever directory the process started in.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        task_default_queue=queue_for_model(settings.default_model),
        task_serializer="json",
        accept_content=["json"],
    )
    return app


@lru_cache(maxsize=4)
def _celery_for(broker_url: str, settings_json: str) -> Celery:
    return make_celery(Settings.model_validate_json(settings_json))


def celery_for(settings: Settings) -> Celery:
    """A cached Celery client for these settings (one connection pool per process)."""
    return _celery_for(settings.broker_url, settings.model_dump_json())


def _nudge(settings: Settings, task: str, subject: str, queue: str, countdown: float = 0.0) -> bool:
    """Send ``task(subject)`` to ``queue``; False (logged) if the broker is unreachable. Callers
    keep the work in the database, so False means "later", never "lost"."""
    try:
        celery_for(settings).send_task(
            task,
            args=[subject],
            queue=queue,
            countdown=countdown or None,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:  # noqa: BLE001 - any broker failure means "try later"
        log.warning("could not send %s for %s to the broker; it will be sent again", task, subject, exc_info=True)
        return False
    return True


def dispatch_generation(settings: Settings, video_id: str, model: str) -> bool:
    """Nudge a worker to run ``video_id``; if that fails the reconciler sends it later."""
    return _nudge(settings, GENERATE_TASK, video_id, queue_for_model(model))


def dispatch_webhook(settings: Settings, delivery_id: str, countdown: float = 0.0) -> bool:
    """Nudge a webhook worker to send ``delivery_id`` (after ``countdown`` seconds); if that fails
    the reconciler's sweep sends it later."""
    return _nudge(settings, DELIVER_WEBHOOK_TASK, delivery_id, WEBHOOK_QUEUE, countdown)
