"""All configuration, from ``VIDEOGEN_*`` environment variables (or a ``.env`` file).

The defaults are the embedded configuration: SQLite, files on local disk and a broker that is a
folder, all under ``VIDEOGEN_DATA_DIR``, so ``videogen dev`` runs with no server at all.
Production points ``DATABASE_URL`` at PostgreSQL, ``BROKER_URL`` at Redis and ``STORAGE_BACKEND``
at S3.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDEOGEN_", env_file=".env", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(Path("./var"), description="Root for everything the embedded defaults keep on disk.")
    database_url: str = Field(
        "", description="SQLAlchemy URL. Default: SQLite at DATA_DIR/videogen.db. Production: postgresql+psycopg://..."
    )
    broker_url: str = Field(
        "",
        description="Celery broker. Default: kombu's filesystem transport under DATA_DIR/broker. Production: redis://...",
    )
    embedded_broker_poll_seconds: float = Field(
        0.025,
        gt=0,
        description="How often an idle worker (and webhook worker) of the embedded broker looks in its folder for "
        "a message: the folder cannot wake a consumer as Redis does, so a job waits up to this long (half of it on "
        "average) before an idle worker starts it. kombu's default of 1 s made pickup 0.5-1 s (p50 564 ms); 50 ms "
        "made it p50 34 ms, p90 50 ms for about 3 ms of CPU per idle second per worker process (a directory "
        "listing per queue a poll; scripts/bench_pickup.py); 25 ms takes another ~12 ms off every job's pickup, "
        "about 1% of a tiny model's 1-2 s clip (scripts/bench_service.py), for about twice that idle CPU. "
        "Unused with a Redis broker.",
    )

    # --- storage -----------------------------------------------------------------------------
    storage_backend: Literal["local", "s3"] = Field("local", description="Where videos and thumbnails go.")
    storage_dir: Path | None = Field(None, description="Local storage root. Default: DATA_DIR/storage.")
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (MinIO, R2, ...). None means AWS.")
    s3_bucket: str = Field("videogen", description="Bucket for videos and thumbnails.")
    s3_region: str = Field("us-east-1", description="Region used for signing.")
    s3_access_key_id: str | None = Field(None, description="Credentials; None uses boto3's usual chain.")
    s3_secret_access_key: str | None = Field(None, description="Credentials; None uses boto3's usual chain.")
    s3_prefix: str = Field("videos/", description="Key prefix inside the bucket.")
    s3_create_bucket: bool = Field(
        False, description="Create the bucket at start-up if missing, and again if a write finds it gone (dev/test)."
    )
    s3_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="Connect timeout of one S3 request (a store that does not answer fails fast)."
    )
    s3_read_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest wait for each read of an S3 answer, download streams included (a hung store fails "
        "a call instead of holding a job or a download).",
    )
    s3_max_attempts: int = Field(
        3,
        ge=1,
        description="Tries of one S3 request in all (botocore's standard retries, jittered). A store that cannot "
        "be reached fails a call within about attempts x connect timeout, one that accepts connections but never "
        "answers (hung) within about attempts x (read timeout + 1) seconds.",
    )
    content_redirect: bool = Field(
        False,
        description="With S3: answer downloads with a 302 to a presigned URL instead of streaming through the API.",
    )
    presign_expiry_seconds: int = Field(3600, description="Lifetime of presigned download URLs.")

    # --- models ------------------------------------------------------------------------------
    models_dir: Path | None = Field(None, description="Root of model weights directories. Default: DATA_DIR/models.")
    models_file: Path | None = Field(None, description="TOML file declaring extra models (see model/registry.py).")
    models: list[str] = Field(
        default_factory=lambda: ["hunyuanvideo-tiny", "hunyuanvideo-i2v-tiny"],
        description="Models this deployment serves (JSON list). Requests for others are refused.",
    )
    default_model: str = Field("hunyuanvideo-tiny", description="Model used when a request names none.")
    default_image_model: str = Field(
        "hunyuanvideo-i2v-tiny",
        description="Model used when a request with an input_reference image names none (an image-to-video model).",
    )
    device: str = Field("auto", description="Torch device for workers: auto, cuda, cuda:1, cpu.")

    # --- organizations, tiers, limits --------------------------------------------------------
    tiers_file: Path | None = Field(None, description="TOML file of access tiers. Default: the built-in tiers.")
    default_tier: str = Field("standard", description="Tier of organizations created without one.")
    admin_token: SecretStr | None = Field(
        None, description="Bearer credential of the admin API (/v1/admin). Unset: the admin API is off."
    )
    rate_limit_url: str = Field(
        "",
        description="Storage of rate-limit counters shared by API replicas. Default: the broker if it is Redis, "
        "else in-process memory (one API process).",
    )
    access_requests_per_hour: int = Field(5, description="Access applications accepted per client IP per hour.")
    idempotency_ttl_hours: float = Field(24.0, description="How long an Idempotency-Key is remembered.")

    # --- webhooks ----------------------------------------------------------------------------
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key(s), comma-separated, newest first, that encrypt webhook signing secrets at rest. "
        "Default: one generated into DATA_DIR/secret.key (embedded). Set it in production, the same on every process.",
    )
    webhook_allow_http: bool = Field(False, description="Allow http:// webhook URLs (https only otherwise).")
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names, IPs or CIDRs that webhooks may reach even though they are private or loopback "
        "(JSON list), e.g. an internal receiver, or 127.0.0.1 in development.",
    )
    webhook_connect_timeout_seconds: float = Field(5.0, description="Connect timeout of one delivery attempt.")
    webhook_timeout_seconds: float = Field(15.0, description="Total time a receiver gets to answer one attempt.")
    webhook_max_response_bytes: int = Field(
        65536, description="Most of a receiver's response that is read; the rest is dropped unread."
    )
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0],
        description="Seconds before each retry (with ±10% jitter; a longer Retry-After wins). "
        "Its length is the number of retries: the default spans about 17 hours.",
    )
    webhook_disable_after_seconds: float = Field(
        3 * 86400, description="An endpoint whose deliveries have failed without a success for this long is disabled."
    )
    webhook_concurrency: int = Field(8, description="Deliveries one `videogen webhook-worker` process sends at once.")
    webhook_log_retention_days: float = Field(
        30.0, description="Events, deliveries and attempts older than this are deleted (pending ones are kept)."
    )

    # --- jobs --------------------------------------------------------------------------------
    heartbeat_interval_seconds: float = Field(
        1.0, description="How often a worker records progress and checks for cancellation."
    )
    stale_after_seconds: float = Field(
        600.0, description="An in_progress job without a heartbeat for this long is considered lost and requeued."
    )
    redispatch_after_seconds: float = Field(
        900.0,
        description="A due webhook delivery whose message is older than this is sent to the broker again. (Queued "
        "jobs are not re-sent by age: a long queue would turn into one duplicate message per job. Their lost nudges "
        "are re-sent when a reconcile round finds their broker queue empty while they wait.)",
    )
    max_attempts: int = Field(3, description="Times a job may be started (after lost workers) before it fails.")
    reconcile_interval_seconds: float = Field(
        10.0,
        description="How often the API looks for lost jobs and nudges the broker no longer holds (0 disables; "
        "`videogen reconcile` runs it once). A flushed or restarted broker costs queued jobs about this long.",
    )

    worker_loaded_models: int = Field(
        1,
        ge=1,
        description="Pipelines a worker keeps loaded at once (least recently used goes first). One per GPU for "
        "real models; more only where they fit together (several tiny twins, or a GPU with room for two).",
    )
    worker_warmup: bool = Field(
        True,
        description="A worker loads its models and runs one small generation of each before it takes any job, so "
        "no job waits behind a load (or a first run's one-off costs) and the first job's ETA has measured steps to "
        "go on. Off, models load when their first job arrives.",
    )
    worker_metrics_port: int | None = Field(
        None, description="If set, each worker serves Prometheus metrics on this port."
    )
    webhook_metrics_port: int | None = Field(
        None,
        description="If set, each webhook worker serves Prometheus metrics (deliveries by outcome, their latency) "
        "on this port. A setting of its own, so a webhook worker and a GPU worker can share a host.",
    )
    worker_finish_retry_seconds: float = Field(
        300.0,
        ge=0,
        description="How long a worker keeps retrying the upload and completion of a finished render while "
        "storage or the database is unreachable (jittered exponential backoff) before giving up. Finished GPU "
        "work is worth minutes; kept well under STALE_AFTER_SECONDS so the job is never requeued meanwhile.",
    )
    worker_database_wait_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a worker that cannot reach the database waits (with backoff) before handing the "
        "message back to the broker, rather than acknowledging it and losing the nudge.",
    )

    # --- API ---------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Bind address of `videogen serve`.")
    api_port: int = Field(8000, description="Port of `videogen serve`.")
    max_metadata_pairs: int = Field(16, description="Most keys in a video's metadata map.")
    input_image_max_bytes: int = Field(
        10 * 1024 * 1024, description="Largest input_reference image accepted, in bytes (upload or fetched)."
    )
    input_image_max_pixels: int = Field(
        40_000_000, description="Most pixels an input_reference image may declare (refuses decompression bombs)."
    )
    input_image_fetch_timeout_seconds: float = Field(
        10.0, description="Total time to fetch an input_reference given as an https URL."
    )
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines of the API and the workers: 'text' (time, level, logger, [request or job], message) "
        "or 'json' (one object per line: time, level, logger, message, request_id; video_id, organization_id and "
        "attempt on a job's lines; exception; trace_id and span_id when tracing).",
    )
    tracing: bool = Field(
        False,
        description="OpenTelemetry tracing of the API, the workers and the webhook workers (needs the `tracing` "
        "extra). The SDK reads the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, "
        "OTEL_TRACES_SAMPLER, ...).",
    )
    tracing_exporter: Literal["otlp", "console"] = Field(
        "otlp", description="Where spans go when TRACING is on: 'otlp' (OTLP over HTTP) or 'console' (stdout)."
    )

    queue_position_exact_within: int = Field(
        100,
        ge=1,
        description="queue_position is exact for the first this many jobs of a model's queue (one short index "
        "scan per request); deeper, it comes from a snapshot of the queue at most QUEUE_SNAPSHOT_MAX_AGE_SECONDS "
        "old, so that a poll costs the same whatever the queue's length.",
    )
    queue_snapshot_max_age_seconds: float = Field(
        5.0,
        ge=0,
        description="Age at which an API process refreshes (in the background, while clients poll deep in the "
        "queue) its snapshot of a model's queue order; each refresh is one index-only scan of the queue, about "
        "1 ms of the process's CPU per 1,000 queued jobs. 0: read it on every such request (exact, but a poll then "
        "costs as much as the queue is long).",
    )

    # --- live status: event streams and Prefer: wait (videogen.videos.watcher) ------------------
    events_poll_interval_seconds: float = Field(
        1.0,
        gt=0,
        description="How often an API process reads the videos its clients follow (event streams, Prefer: wait): "
        "one round for all of them, a query per 500 watched videos, however many clients. Also the most an event "
        "lags behind the database.",
    )
    events_keepalive_seconds: float = Field(
        15.0, gt=0, description="An event stream with nothing new sends a `: keep-alive` comment this often."
    )
    events_max_stream_seconds: float = Field(
        3600.0,
        gt=0,
        description="An event stream is closed after this long (the client reconnects with Last-Event-ID and "
        "misses nothing), so that load balancers can spread long-lived connections again.",
    )
    events_max_streams: int = Field(
        2000,
        ge=1,
        description="Event streams and Prefer: wait requests one API process carries at once; beyond, they are "
        "answered 503 server_busy with Retry-After.",
    )
    api_shutdown_grace_seconds: int = Field(
        10,
        ge=0,
        description="On SIGTERM, how long `videogen serve` lets requests still running finish before it cancels "
        "them (uvicorn's timeout_graceful_shutdown). Event streams and Prefer: wait requests end at once.",
    )

    # --- bounds: what one API process takes on, and how long it waits on a dependency ------------
    api_max_concurrent_requests: int = Field(
        16,
        ge=1,
        description="Requests one API process works on at once; the rest wait (asynchronously, holding nothing) "
        "for up to API_QUEUE_TIMEOUT_SECONDS. The database pool holds twice as many connections, so a request "
        "can never wait for a connection that requests waiting for a thread hold (no pool lock-up).",
    )
    api_max_queued_requests: int = Field(
        512, ge=0, description="Requests that may wait for a free slot; more are answered 503 at once."
    )
    api_queue_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest a request waits for a free slot before a 503 with Retry-After."
    )
    api_max_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest request body on every route but video creation (which allows room for one image); "
        "bigger bodies are refused with 413 as they arrive, declared length or not.",
    )
    database_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="Connect timeout to the database (PostgreSQL)."
    )
    database_statement_timeout_seconds: float | None = Field(
        60.0,
        description="PostgreSQL cancels a statement of the service's that runs, or waits for a lock, longer than "
        "this (a 503 in the API, a retry in workers); migrations have no limit. None or 0: no limit.",
    )
    database_pool_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest a request waits for a pooled database connection before a 503."
    )
    redis_timeout_seconds: float = Field(
        2.0,
        gt=0,
        description="Connect and read timeout of every Redis call (broker nudges, rate-limit counters).",
    )
    dependency_retry_seconds: float = Field(
        5.0,
        gt=0,
        description="After the broker or the rate-limit store failed, how long this process stops trying it "
        "(nudges are left to the reconciler, limits fall back) before trying again.",
    )
    rate_limit_on_outage: Literal["local", "open", "closed"] = Field(
        "local",
        description="When the shared rate-limit store (Redis) is unreachable: 'local' counts in this process "
        "(limits still hold, at most once per replica), 'open' lets requests through, 'closed' answers 503. "
        "Each fallback is logged and counted (videogen_rate_limit_fallbacks_total).",
    )
    webhook_tests_per_minute: int = Field(
        10, ge=1, description="Test events (POST /v1/webhook_endpoints/{id}/test) an organization may send a minute."
    )

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'videogen.db').as_posix()}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if self.storage_dir is None:
            self.storage_dir = self.data_dir / "storage"
        if self.models_dir is None:
            self.models_dir = self.data_dir / "models"
        if self.admin_token is not None and not self.admin_token.get_secret_value():
            self.admin_token = None  # an empty variable (compose's ${VAR:-}) means "off", not "empty password"
        if self.secret_key is not None and not self.secret_key.get_secret_value().strip():
            self.secret_key = None  # likewise: unset, so the key file in DATA_DIR is used
        if not self.rate_limit_url:
            self.rate_limit_url = self.broker_url if self.broker_url.startswith("redis") else "memory://"
        return self

    @property
    def broker_dir(self) -> Path:
        """Folder of the filesystem broker (embedded configuration only)."""
        return self.data_dir / "broker"

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
