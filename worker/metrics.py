"""Prometheus metrics of a worker process (served when VIDEOGEN_WORKER_METRICS_PORT is set)."""

from prometheus_client import Counter, Gauge, Histogram

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

# Phases: buckets from a tiny twin's hundredths of a second to a 13B model's hour-long denoising.
_PHASE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)

PHASE_SECONDS = Histogram(
    "videogen_worker_phase_seconds",
    "Seconds a completed job spent in each phase on its worker: loading (only when the job waited for a load), "
    "encoding_prompt, denoising, decoding, encoding, uploading.",
    ["model", "phase"],
    buckets=_PHASE_BUCKETS,
)
STEP_SECONDS = Histogram(
    "videogen_worker_step_seconds",
    "Seconds per denoising step of completed jobs (their denoising time over their steps).",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120),
)
QUEUE_SECONDS = Histogram(
    "videogen_worker_queue_seconds",
    "Seconds jobs waited from submission to the start of their run.",
    ["model"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
)
GPU_SECONDS = Counter(
    "videogen_worker_gpu_seconds_total",
    "GPU busy time of jobs (prompt encoding through the VAE decode), whatever their end: what is billed.",
    ["model"],
)
MODEL_LOAD_SECONDS = Gauge(
    "videogen_worker_model_load_seconds",
    "How long the worker's latest load of the model took.",
    ["model"],
)
MODEL_READY = Gauge(
    "videogen_worker_model_ready",
    "1 while the model is loaded (and warmed up) in this worker, 0 while it loads or after it failed to.",
    ["model"],
)
READY = Gauge(
    "videogen_worker_ready",
    "1 once the worker has loaded and warmed its models and consumes its queues; 0 while it starts.",
)
