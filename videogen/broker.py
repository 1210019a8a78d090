"""The broker: the Celery application both sides share, and how this process sends it nudges.

The broker only carries nudges: "a job for model M is waiting" (``GENERATE_TASK``) and "delivery D
is due" (``DELIVER_WEBHOOK_TASK``). The work itself lives in the database, so a message lost in the
broker is re-sent by the reconciler and a duplicate is harmless (a worker must win an atomic claim
first). Nudges about new rows are sent only after the transaction that wrote them has committed
(``videogen.database.after_commit``), by the processes that ``enable`` it: the API, the workers and
the CLI commands that change jobs. A process that has not enabled it sends none, and the
reconciler sends them a little later.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery
from kombu.exceptions import ChannelError

from videogen import embedded_broker
from videogen.outages import OutageWindow
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
    transport_options: dict[str, object] = {
        "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
        # A Redis that stops answering (paused, partitioned) must cost a bounded wait, never a hang.
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
    }
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
            # kombu's virtual Transport sleeps this long after every empty poll (its default: 1 s).
            "polling_interval": settings.embedded_broker_poll_seconds,
        }
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.redis_timeout_seconds,
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


# For each broker, when it last failed: sends are skipped at once for ``dependency_retry_seconds``
# after a failure (the reconciler sends them once the broker is back), so an outage costs one bounded
# wait, not one per request.
_outages: dict[str, OutageWindow] = {}


def _outage_of(settings: Settings) -> OutageWindow:
    """The outage record of this broker (the folder, for the embedded broker: every test run has its own)."""
    key = f"{settings.broker_url}|{settings.broker_dir}" if settings.is_embedded_broker else settings.broker_url
    return _outages.setdefault(key, OutageWindow())


def send(settings: Settings, task: str, subject: str, queue: str, countdown: float = 0.0) -> bool:
    """Send ``task(subject)`` to ``queue``; False (logged) if the broker is unreachable. Callers
    keep the work in the database, so False means "later", never "lost"."""
    outage = _outage_of(settings)
    if outage.active():
        return False
    try:
        celery_for(settings).send_task(
            task,
            args=[subject],
            queue=queue,
            countdown=countdown or None,
            # One try, bounded by the socket timeouts: the reconciler is the retry.
            retry=False,
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure means "try later"
        if outage.begin(settings.dependency_retry_seconds):
            log.warning(
                "the broker is unreachable (%s); nudges are left to the reconciler for %g s",
                type(exc).__name__,
                settings.dependency_retry_seconds,
            )
        return False
    return True


def queue_depth(settings: Settings, queue: str) -> int | None:
    """Messages waiting in ``queue`` (not those a worker holds), or None if the broker cannot say.

    The reconciler asks it each round: an empty queue while the database has nudged jobs waiting
    means the broker lost their nudges (flushed, or restarted without persistence), and they are
    sent again at once (``videogen.videos.dispatch.resend_lost_nudges``).
    """
    outage = _outage_of(settings)
    if outage.active():
        return None
    try:
        with celery_for(settings).connection_for_read() as connection:
            channel = connection.default_channel
            try:
                return int(channel.queue_declare(queue=queue, passive=True).message_count)
            except ChannelError:
                return 0  # the queue does not exist (any more): it holds nothing
    except Exception as exc:  # noqa: BLE001 - an unreachable broker cannot be asked; try next round
        if outage.begin(settings.dependency_retry_seconds):
            log.warning("the broker is unreachable (%s)", type(exc).__name__)
        return None


# --- which processes nudge after a commit --------------------------------------------------------

_enabled: Settings | None = None


def enable(settings: Settings | None) -> None:
    """Make this process send nudges as soon as the transactions that call for them commit
    (``None``: send none, and leave them to the reconciler)."""
    global _enabled
    _enabled = settings


def enabled_settings() -> Settings | None:
    """The settings nudges are sent with, or None if this process sends none."""
    return _enabled
