"""Prometheus metrics of a worker process (served when VIDEOGEN_WORKER_METRICS_PORT is set)."""

from prometheus_client import Counter, Histogram

JOBS_FINISHED = Counter("videogen_worker_jobs_total", "Jobs a worker finished, by outcome.", ["model", "status"])
JOB_SECONDS = Histogram(
    "videogen_worker_job_seconds",
    "Wall time of a job on a worker, from claim to its end.",
    ["model"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
