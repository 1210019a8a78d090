"""Prometheus metrics of a worker process (served when VIDEOGEN_WORKER_METRICS_PORT is set)."""

from prometheus_client import Counter, Histogram

# How a job ended on this worker, the ``status`` label of JOBS_FINISHED: the job's own end states,
# plus two that are only this attempt's end. "superseded": the job was taken from this worker (its
# heartbeat found it requeued or claimed again after the reconciler gave up on it), not cancelled by
# its client. "abandoned": the worker could record no end at all (the database stayed unreachable);
# the reconciler requeues the job once its heartbeat is stale.
SUPERSEDED = "superseded"
ABANDONED = "abandoned"

JOBS_FINISHED = Counter(
    "videogen_worker_jobs_total",
    "Jobs a worker finished, by outcome: completed, failed, cancelled, superseded, abandoned.",
    ["model", "status"],
)
JOB_SECONDS = Histogram(
    "videogen_worker_job_seconds",
    "Wall time of a job on a worker, from claim to its end.",
    ["model"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
RETRIES = Counter(
    "videogen_worker_retries_total",
    "Steps a worker tried again because storage or the database was unreachable, by step.",
    ["step"],
)
MESSAGES_RETURNED = Counter(
    "videogen_worker_messages_returned_total",
    "Broker messages a worker handed back (rejected for redelivery) because the database was unreachable.",
)
