"""A videos table of any size with the shape of a busy deployment, seeded in seconds, for the scale
benchmark (``scripts/bench_scale.py``) and the query plans (``scripts/explain_hot_queries.py``).

Issue 10 asks that the hot paths stay flat with data: as fast with 1,000,000 jobs as with 1,000.
That only means something if both tables have the same *shape*, so the shape is one value
(``Shape``) and only its size changes: 100 organizations, 5% of the jobs queued on two models with
priorities from a few tiers, a few running, the rest finished over the last 30 days (mostly
completed; the last day's still holding their files), and a webhook event and delivery for one
finished job in ten. Whatever a query costs on top of its answer then shows up as a ratio between
the sizes.

The rows are what the domain writes, column by column, but made in bulk: the random parts are
numpy arrays (one generator, seeded, so a size always gets the same table), turned into rows a
chunk at a time and loaded the fastest way each database has: ``COPY`` (psycopg's
``cursor.copy``) on PostgreSQL, one ``executemany`` transaction with ``synchronous=OFF`` on SQLite.
Going through the ORM would take minutes per million rows and measure nothing of interest. The
schema comes from the service's own migrations (``benchlib.prepare``), and the statistics are
refreshed afterwards (``VACUUM ANALYZE`` / ``ANALYZE``) as a long-lived database has them, so the
planners choose as they would in production.

Timestamps are written in each database's own text form (SQLAlchemy's for SQLite, ISO 8601 with
an offset for PostgreSQL), ids as ``videogen.ids`` makes them (creation milliseconds, then random
hex), so ids sort by creation and rows lie in creation order, as in a table that grew by inserts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import sqlalchemy as sa
from benchlib import BENCH_CLIP, Deployment, create_account, prepare

from videogen.accounts.standing import start_of_utc_day
from videogen.database import utcnow
from videogen.videos.tables import ACTIVE_STATUSES, UNBILLED_STATUSES

# Two models in the queue (the default deployment serves both), the first the busier.
MODELS = ("hunyuanvideo-tiny", "hunyuanvideo-i2v-tiny")
MODEL_WEIGHTS = (0.7, 0.3)
# Job priorities, snapshotted from the tiers of their organizations: organization i has the
# priority TIER_PRIORITIES[i % 4] (enterprise, two standard, free).
TIER_PRIORITIES = (10, 5, 5, 1)
FINISHED_STATUSES = ("completed", "failed", "cancelled")
FINISHED_WEIGHTS = (0.9, 0.07, 0.03)
EVENT_TYPES = {"completed": "video.completed", "failed": "video.failed", "cancelled": "video.cancelled"}
WEBHOOK_URL = "https://hooks.example.com/videogen"
# Stands in for an event's frozen video object (a real one is about this long).
PAYLOAD = '{"object":"event","type":"video.completed","data":{"object":"video","status":"completed"}}' + " " * 300

SECOND = 1_000_000  # timestamps are microseconds since the epoch
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
RETENTION = 24 * HOUR  # the bench tier's retention_hours
ROWS_PER_CHUNK = 50_000


@dataclass(frozen=True)
class Shape:
    """What the seeded table holds; everything but ``jobs`` is the same at every size."""

    jobs: int
    organizations: int = 100
    queued_fraction: float = 0.05
    in_progress: int = 8  # a few GPUs' worth, at any size
    days: float = 30.0  # finished jobs were created over this many days
    queued_hours: float = 6.0  # queued jobs over this many hours (the newest)
    webhook_fraction: float = 0.1  # finished jobs less than 29 days old with an event and a delivery
    pending_delivery_fraction: float = 0.01  # of those deliveries: waiting for a retry an hour away
    idempotency_fraction: float = 0.2  # jobs of the last 23 hours submitted with an Idempotency-Key
    seed: int = 10

    @property
    def queued(self) -> int:
        return round(self.jobs * self.queued_fraction)

    @property
    def finished(self) -> int:
        return self.jobs - self.queued - self.in_progress

    def describe(self) -> str:
        return (
            f"{self.jobs:,} jobs across {self.organizations} organizations: {self.queued:,} queued "
            f"({self.queued_fraction:.0%}, models {' / '.join(MODELS)} at {'/'.join(map(str, MODEL_WEIGHTS))}, "
            f"priorities {sorted(set(TIER_PRIORITIES))}, created over the last {self.queued_hours:g} h), "
            f"{self.in_progress} in progress, the rest completed/failed/cancelled "
            f"({'/'.join(f'{w:.0%}' for w in FINISHED_WEIGHTS)}) over the last {self.days:g} days, completed ones "
            f"of the last ~{RETENTION // HOUR} h with files; webhook events and deliveries for "
            f"{self.webhook_fraction:.0%} of finished jobs ({self.pending_delivery_fraction:.0%} of them pending); "
            f"Idempotency-Keys kept for {self.idempotency_fraction:.0%} of the last 23 hours' jobs"
        )


@dataclass(frozen=True)
class Dataset:
    """A seeded table and the rows a benchmark points at (all chosen from what was seeded)."""

    shape: Shape
    seeded_at: datetime
    seed_seconds: float
    api_keys: dict[str, str]  # organization id -> the secret of its API key
    counts: dict[str, int]  # rows by status, and the other tables' rows
    # An organization with about jobs / organizations jobs: list pages, admission, creates.
    busy_org: str
    # The newest completed video (files stored, not expired) and its organization.
    completed_id: str
    completed_org: str
    # The last job of MODELS[0]'s queue (the lowest priority, the newest) and its position.
    deep_queued_id: str
    deep_queued_org: str
    deep_queued_position: int
    # The first job of MODELS[0]'s queue (position 1).
    head_queued_id: str
    head_queued_org: str
    busy_org_jobs: int = 0
    tables_bytes: dict[str, int] = field(default_factory=dict)


# --- columns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Times:
    """A timestamp column: microseconds since the epoch, NULL where ``present`` is false."""

    us: npt.NDArray[np.int64]
    present: npt.NDArray[np.bool_]


Column = npt.NDArray[Any] | _Times | str | int | float | None  # an array, timestamps, or one value for every row


@dataclass(frozen=True)
class _Table:
    name: str
    length: int
    columns: dict[str, Column]

    def rows(self, timestamp_suffix: str) -> Iterator[list[tuple[Any, ...]]]:
        """The rows, ``ROWS_PER_CHUNK`` at a time, as DBAPI parameter tuples; timestamps as text
        in the database's form (``timestamp_suffix`` is the UTC offset PostgreSQL wants)."""
        for start in range(0, self.length, ROWS_PER_CHUNK):
            stop = min(start + ROWS_PER_CHUNK, self.length)
            values = [_chunk(column, start, stop, timestamp_suffix) for column in self.columns.values()]
            yield list(zip(*values, strict=True))


def _chunk(column: Column, start: int, stop: int, suffix: str) -> list[Any]:
    if isinstance(column, _Times):
        when = column.us[start:stop].astype("datetime64[us]")
        text = np.strings.add(np.strings.replace(np.datetime_as_string(when, unit="us"), "T", " "), suffix)
        values: list[Any] = _or_null(column.present[start:stop], text).tolist()
        return values
    if isinstance(column, np.ndarray):
        rows: list[Any] = column[start:stop].tolist()
        return rows
    return [column] * (stop - start)


def _or_null(present: npt.NDArray[np.bool_], values: npt.NDArray[Any] | str | int) -> npt.NDArray[np.object_]:
    """``values`` where ``present``, NULL (None) elsewhere, as Python objects for the driver."""
    out = np.full(len(present), None, dtype=object)
    out[present] = values[present] if isinstance(values, np.ndarray) else values
    return out


def _hex(rng: np.random.Generator, n: int) -> npt.NDArray[np.str_]:
    """20 random hex digits per row: the random part of ``videogen.ids.new_id``."""
    high = np.strings.mod("%016x", rng.integers(0, 2**63, n, dtype=np.int64))
    return np.strings.add(high, np.strings.mod("%04x", rng.integers(0, 2**16, n, dtype=np.int64)))


def _ids(prefix: str, created_us: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.str_]:
    millis = np.strings.mod("%012x", created_us // 1000)
    return np.strings.add(np.strings.add(f"{prefix}_", millis), _hex(rng, len(created_us)))


def _videos(shape: Shape, org_ids: Sequence[str], now_us: int, rng: np.random.Generator) -> _Table:
    n, queued, running, finished = shape.jobs, shape.queued, shape.in_progress, shape.finished
    status = np.concatenate(
        [
            np.full(queued, "queued", dtype=object),
            np.full(running, "in_progress", dtype=object),
            rng.choice(np.array(FINISHED_STATUSES, dtype=object), finished, p=FINISHED_WEIGHTS),
        ]
    )
    age = np.concatenate(
        [
            rng.integers(2 * SECOND, int(shape.queued_hours * HOUR), queued),
            rng.integers(MINUTE, 10 * MINUTE, running),
            rng.integers(MINUTE, int(shape.days * DAY) - HOUR, finished),
        ]
    )
    order = np.argsort(-age, kind="stable")  # oldest first: the order a growing table has its rows in
    status, age = status[order], age[order]
    created = now_us - age
    ids = _ids("video", created, rng)
    org = rng.integers(0, shape.organizations, n)
    organization_id = np.array(org_ids, dtype=object)[org]
    model = rng.choice(np.array(MODELS, dtype=object), n, p=MODEL_WEIGHTS)
    priority = np.array(TIER_PRIORITIES)[org % len(TIER_PRIORITIES)]

    is_running = status == "in_progress"
    is_completed, is_failed, is_cancelled = status == "completed", status == "failed", status == "cancelled"
    finished_mask = is_completed | is_failed | is_cancelled
    started_ever = is_running | is_completed | is_failed
    started = created + rng.integers(SECOND, 5 * MINUTE, n)  # waited in the queue
    ended = started + rng.integers(10 * SECOND, 2 * MINUTE, n)  # ran (or, cancelled, waited)
    expires = ended + RETENTION
    # Files of completed jobs stay until they expire; older ones were purged (keys cleared).
    # A quarter of an hour's margin: nothing expires while a benchmark runs.
    has_files = is_completed & (expires > now_us + 15 * MINUTE)

    def key(suffix: str) -> npt.NDArray[Any]:
        return _or_null(has_files, np.strings.add(ids, suffix))

    columns: dict[str, Column] = {
        "id": ids.astype(object),
        "organization_id": organization_id,
        "status": status,
        "progress": np.select([is_completed, is_running], [100, 40], 0),
        "model": model,
        "prompt": "a red fox trots across fresh snow at dawn, cinematic",
        **BENCH_CLIP,
        "seed": rng.integers(0, 2**31, n),
        "metadata": "{}",
        "priority": priority,
        "retention_hours": 24.0,
        "created_at": _Times(created, np.ones(n, dtype=bool)),
        "dispatched_at": _Times(created, np.ones(n, dtype=bool)),  # every nudge went out
        "started_at": _Times(np.where(is_running, now_us - 30 * SECOND, started), started_ever),
        "heartbeat_at": _Times(np.full(n, now_us), is_running),  # alive: the reconciler finds none lost
        "completed_at": _Times(ended, finished_mask),
        "expires_at": _Times(expires, is_completed),
        "attempts": started_ever.astype(np.int64),
        "worker": _or_null(started_ever, "gpu-0"),
        "error_code": _or_null(is_failed, "generation_failed"),
        "error_message": _or_null(is_failed, "The model could not generate this video."),
        "video_key": key("/attempt-1/video.mp4"),
        "thumbnail_key": key("/attempt-1/thumbnail.jpg"),
        "spritesheet_key": key("/attempt-1/spritesheet.jpg"),
        "video_bytes": _or_null(has_files, 184_320),
    }
    return _Table("videos", n, columns)


def _webhooks(
    videos: _Table, now_us: int, shape: Shape, rng: np.random.Generator
) -> tuple[_Table, _Table, npt.NDArray[np.bool_]]:
    """An event and a delivery (to the video's own webhook_url) for ``webhook_fraction`` of the
    finished jobs younger than 29 days (the log keeps 30): delivered, or waiting for a retry."""
    status = videos.columns["status"]
    completed_at = videos.columns["completed_at"]
    assert isinstance(status, np.ndarray) and isinstance(completed_at, _Times)
    finished = np.isin(status, FINISHED_STATUSES)
    young = completed_at.us > now_us - 29 * DAY
    chosen = np.flatnonzero(finished & young & (rng.random(videos.length) < shape.webhook_fraction))
    m = len(chosen)
    at = completed_at.us[chosen]
    org = videos.columns["organization_id"]
    video_id = videos.columns["id"]
    assert isinstance(org, np.ndarray) and isinstance(video_id, np.ndarray)
    event_ids = _ids("evt", at, rng).astype(object)
    everywhere = np.ones(m, dtype=bool)
    events = _Table(
        "webhook_events",
        m,
        {
            "id": event_ids,
            "organization_id": org[chosen],
            "video_id": video_id[chosen],
            "type": np.vectorize(EVENT_TYPES.__getitem__, otypes=[object])(status[chosen]),
            "payload": PAYLOAD,
            "created_at": _Times(at, everywhere),
        },
    )
    pending = rng.random(m) < shape.pending_delivery_fraction
    deliveries = _Table(
        "webhook_deliveries",
        m,
        {
            "id": _ids("msg", at, rng).astype(object),
            "organization_id": org[chosen],
            "event_id": event_ids,
            "url": WEBHOOK_URL,
            "status": np.where(pending, "pending", "succeeded").astype(object),
            "attempts": np.where(pending, 2, 1),
            "series_attempts": np.where(pending, 2, 1),
            "next_attempt_at": _Times(np.full(m, now_us + HOUR), pending),
            "last_status_code": np.where(pending, 503, 200),
            "created_at": _Times(at, everywhere),
            "completed_at": _Times(at + SECOND, ~pending),
        },
    )
    return events, deliveries, pending


def _idempotency_keys(videos: _Table, now_us: int, shape: Shape, rng: np.random.Generator) -> _Table:
    """The keys clients sent with ``idempotency_fraction`` of the jobs of the last 23 hours (kept
    24 hours: none expires while a benchmark runs)."""
    created = videos.columns["created_at"]
    video_id, org = videos.columns["id"], videos.columns["organization_id"]
    assert isinstance(created, _Times) and isinstance(video_id, np.ndarray) and isinstance(org, np.ndarray)
    chosen = np.flatnonzero(
        (created.us > now_us - 23 * HOUR) & (rng.random(videos.length) < shape.idempotency_fraction)
    )
    return _Table(
        "idempotency_keys",
        len(chosen),
        {
            "organization_id": org[chosen],
            "key": np.strings.add("retry-", _hex(rng, len(chosen))).astype(object),
            "request_hash": "0" * 64,
            "video_id": video_id[chosen],
            "created_at": _Times(created.us[chosen], np.ones(len(chosen), dtype=bool)),
        },
    )


# --- loading -----------------------------------------------------------------------------------------


def _load_postgres(database_url: str, tables: Sequence[_Table]) -> None:
    with psycopg.connect(_conninfo(database_url)) as conn:
        for table in tables:
            statement = f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN"
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for rows in table.rows("+00"):
                    for row in rows:
                        copy.write_row(row)


def _load_sqlite(path: str, tables: Sequence[_Table]) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # for the seed only: a crash would only cost the seed
        with conn:  # one transaction
            for table in tables:
                placeholders = ", ".join("?" * len(table.columns))
                statement = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({placeholders})"
                for rows in table.rows(""):
                    conn.executemany(statement, rows)
    finally:
        conn.close()


def _conninfo(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (psycopg's own connect) reads it."""
    return sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def refresh_statistics(database_url: str) -> None:
    """``VACUUM ANALYZE`` (PostgreSQL: statistics, and a visibility map for index-only scans, as
    autovacuum keeps them) or ``ANALYZE`` (SQLite), so that planners see the table as it is."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        conn = sqlite3.connect(url.database)
        try:
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        with psycopg.connect(_conninfo(database_url), autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")


def refresh_standing(database_url: str, organization_id: str | None = None) -> None:
    """Recompute the running totals an organization row keeps of its jobs, where the schema has
    them (``videogen.accounts.standing``: active jobs, today's billed seconds), from the videos
    table, as the migration that added them does: bulk-loaded (or bulk-deleted) rows bypass the
    domain code that moves them. Read from the database's own schema, so it does nothing on a
    schema without them."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            organizations = sa.Table("organizations", sa.MetaData(), autoload_with=conn)
            if "active_jobs" not in organizations.c:
                return
            videos = sa.Table("videos", sa.MetaData(), autoload_with=conn)
            of_org = videos.c.organization_id == organizations.c.id
            day = start_of_utc_day(utcnow())
            active = sa.select(sa.func.count()).where(of_org, videos.c.status.in_([s.value for s in ACTIVE_STATUSES]))
            billed = sa.select(sa.func.coalesce(sa.func.sum(videos.c.duration_seconds), 0.0)).where(
                of_org, videos.c.created_at >= day, videos.c.status.not_in([s.value for s in UNBILLED_STATUSES])
            )
            statement = sa.update(organizations).values(
                active_jobs=active.scalar_subquery(), usage_day=day, usage_day_seconds=billed.scalar_subquery()
            )
            if organization_id is not None:
                statement = statement.where(organizations.c.id == organization_id)
            conn.execute(statement)
    finally:
        engine.dispose()


def _table_bytes(database_url: str) -> dict[str, int]:
    url = sa.engine.make_url(database_url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if url.get_backend_name() == "sqlite":
                return {
                    "database": int(
                        conn.exec_driver_sql(
                            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
                        ).scalar_one()
                    )
                }
            rows = conn.exec_driver_sql(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
                "('videos', 'webhook_events', 'webhook_deliveries')"
            ).all()
            return {name: int(size) for name, size in rows}
    finally:
        engine.dispose()


# --- the seed ------------------------------------------------------------------------------------------


def seed_tables(deployment: Deployment, shape: Shape) -> Dataset:
    """Seed a migrated deployment's database with ``shape`` (organizations and keys through the
    domain, the rest in bulk) and refresh its statistics."""
    started = time.perf_counter()
    accounts = [create_account(deployment, f"org{i:03d}") for i in range(shape.organizations)]
    org_ids = [account.organization_id for account in accounts]
    rng = np.random.default_rng(shape.seed)
    seeded_at = datetime.now(UTC)
    now_us = int(seeded_at.timestamp() * SECOND)
    videos = _videos(shape, org_ids, now_us, rng)
    events, deliveries, pending = _webhooks(videos, now_us, shape, rng)
    keys = _idempotency_keys(videos, now_us, shape, rng)
    url = sa.engine.make_url(deployment.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        _load_sqlite(url.database, [videos, events, deliveries, keys])
    else:
        _load_postgres(deployment.database_url, [videos, events, deliveries, keys])
    refresh_standing(deployment.database_url)
    refresh_statistics(deployment.database_url)
    counts = {"webhook_events": events.length, "webhook_deliveries_pending": int(np.count_nonzero(pending))}
    counts["idempotency_keys"] = keys.length
    return _dataset(shape, seeded_at, time.perf_counter() - started, accounts, videos, counts, deployment)


def _dataset(
    shape: Shape,
    seeded_at: datetime,
    seconds: float,
    accounts: Sequence[Any],
    videos: _Table,
    other_counts: dict[str, int],
    deployment: Deployment,
) -> Dataset:
    cols = videos.columns
    ids, org, status, model, priority, video_key = (
        cols["id"], cols["organization_id"], cols["status"], cols["model"], cols["priority"], cols["video_key"]
    )  # fmt: skip
    assert isinstance(ids, np.ndarray) and isinstance(org, np.ndarray) and isinstance(status, np.ndarray)
    assert isinstance(model, np.ndarray) and isinstance(priority, np.ndarray) and isinstance(video_key, np.ndarray)
    names, counts = np.unique(org, return_counts=True)
    busy_org = str(names[np.argmax(counts)])
    completed = np.flatnonzero((status == "completed") & (video_key != None))  # noqa: E711
    queue = np.flatnonzero((status == "queued") & (model == MODELS[0]))
    in_order = queue[np.lexsort((ids[queue].astype(str), -priority[queue]))]  # claim_next's order
    deep, head = in_order[-1], in_order[0]
    by_status = dict(zip(*np.unique(status, return_counts=True), strict=True))
    return Dataset(
        shape=shape,
        seeded_at=seeded_at,
        seed_seconds=round(seconds, 1),
        api_keys={account.organization_id: account.api_key for account in accounts},
        counts={
            **{str(k): int(v) for k, v in by_status.items()},
            "with_files": int(np.count_nonzero(video_key != None)),  # noqa: E711
            **other_counts,
        },
        busy_org=busy_org,
        busy_org_jobs=int(counts.max()),
        completed_id=str(ids[completed[-1]]),
        completed_org=str(org[completed[-1]]),
        deep_queued_id=str(ids[deep]),
        deep_queued_org=str(org[deep]),
        deep_queued_position=len(in_order),
        head_queued_id=str(ids[head]),
        head_queued_org=str(org[head]),
        tables_bytes=_table_bytes(deployment.database_url),
    )


def seed(deployment: Deployment, shape: Shape) -> Dataset:
    """Migrate ``deployment``'s database with the service's migrations, then seed ``shape``."""
    return prepare(deployment, lambda d: seed_tables(d, shape))


def status_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())
