"""What both of our Celery applications (``worker.celery_app``, GPU jobs; ``worker.webhook_app``,
deliveries) set up the same way before they serve: tracing first (it wraps the database engines
made after it), the database's bounded waits, the Celery app, broker nudges on commit, and the
process's logging and buffered spans handed to ``videogen.logs`` and ``videogen.tracing``."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging, worker_shutdown

from videogen import broker, database, tracing
from videogen.broker import make_celery
from videogen.logs import configure_logging
from videogen.settings import Settings


def celery_process(settings: Settings, service_name: str) -> Celery:
    """The configured Celery application of a worker process named ``service_name`` in traces."""
    tracing.configure_tracing(settings, service_name)  # before any engine is made
    database.configure(settings)  # connect and pool timeouts: a database that does not answer costs bounded waits
    app = make_celery(settings)
    broker.enable(settings)  # what a task commits (a job's end, a retry) nudges its consumers at once

    def configure_process_logging(**_: object) -> None:
        # With a receiver of this signal Celery leaves the root logger alone: the worker's lines,
        # Celery's own included, go through videogen.logs (LOG_FORMAT, the job's or delivery's fields).
        configure_logging(settings)

    def flush_traces(**_: object) -> None:
        # The spans still buffered go out before the process ends.
        tracing.flush_tracing()

    # Strong references: the receivers are local functions, which Celery would otherwise drop.
    setup_logging.connect(configure_process_logging, weak=False)
    worker_shutdown.connect(flush_traces, weak=False)
    return app
