"""Live status under load (issue 13): one API process carrying 10, 100 and 1,000 open event streams,
then 1,000 ``Prefer: wait`` requests at once, on PostgreSQL.

    python scripts/bench_events.py                         # 10, 100, 1000 streams; about 2 minutes on 2 cores
    python scripts/bench_events.py --quick                 # a smoke run of a few seconds (the test's)
    python scripts/bench_events.py --levels 10,100,1000,2000 --json events.json

**What runs.** One API process (``uvicorn --factory api.app:create_app``, what ``videogen serve``
runs, with the benchmarks' flags: one worker, log level warning, no access log), at its default
live-status settings (a watcher round every second), on a scratch PostgreSQL database (dropped at
the end) with the embedded broker and the reconciler off. No GPU worker runs: the benchmark plays
the worker itself, writing rows as a worker's heartbeats would.

**Streams.** Each stream follows a video of its own (the watcher's worst case: nothing is shared),
in progress. The streams are opened 50 at a time, each counted open once its first event (the
current state) has arrived; then, for ``--hold`` seconds, a simulated worker moves the progress of
``--changes`` of the watched videos forward every second (one UPDATE a second), so events flow
(after ``--settle`` seconds, the measured window starts).
Measured at each level, over the hold: the API process's resident memory (psutil) and CPU, the
statements the watcher ran (its own counter, ``videogen_watcher_queries_total`` from ``/metrics``,
read before and after), the transactions the database saw (``pg_stat_database``: commits and
rollbacks, less the simulated worker's own), and the events and keep-alives the clients received.
A PostgreSQL backend publishes its counts up to 10 s after it goes idle, so each window starts
``--settle`` seconds (11) after the level's streams were opened; the database's figure also holds
the benchmark's two ``/metrics`` scrapes a window (two short transactions each) and autovacuum's.
At the largest level, the latency from a row's commit to its event on its stream, for
``--latency-samples`` updates of videos the simulated worker leaves alone, spread over the watcher's
polling cycle.

**Waits.** The streams are closed, then ``--waits`` clients send ``GET /v1/videos/{id}`` with
``Prefer: wait=N`` (``--wait-seconds``, 15), arriving at ``--arrival-rate`` (200 a second: a
thousand within 5 s, so all wait at once for 10 s), each for a queued video (no worker runs). Two
seconds into that (and a random part of a second) a tenth of them are completed by a direct UPDATE:
those must answer within about a round, the others after N seconds, all 200 with
``Preference-Applied``. Measured from the end of the ramp to just before the first answers: the
same figures as for streams, and the waits the API counts open (``videogen_prefer_waits``).

The client is asyncio with plain sockets (HTTP/1.1, chunked bodies parsed by hand): on two cores
it must cost far less than the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil  # type: ignore[import-untyped]  # no py.typed, and no stubs installed here
import sqlalchemy as sa
from benchlib import (
    POSTGRES_ADMIN_URL,
    Account,
    Deployment,
    Server,
    api_server,
    create_account,
    embedded_deployment,
    prepare,
    report_header,
    scratch_postgres,
    summarize_log,
    video_values,
)
from sqlalchemy import insert, update

from videogen.database import get_engine, session_scope, utcnow
from videogen.videos.tables import Video, VideoStatus

T = TypeVar("T")

BATCH = 50  # connections opened at once
EVENT_STREAM_PATH = "/v1/videos/{id}/events"


# --- a minimal HTTP/1.1 client on asyncio sockets ----------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection before answering")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def _request(path: str, host: str, key: str, extra: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {key}"]
    lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Stream:
    """One open event stream, read by its own task: what arrived, and when."""

    video_id: str
    events: int = 0
    keepalives: int = 0
    last_id: str | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None
    task: asyncio.Task[None] | None = None
    writer: asyncio.StreamWriter | None = None

    def progress(self) -> int | None:
        """The progress of the last state received (``status.phase.progress...``)."""
        return int(self.last_id.split(".")[2]) if self.last_id and self.last_id != "deleted" else None

    def _take(self, block: str) -> None:
        if block.startswith(":"):
            self.keepalives += 1
            return
        for line in block.split("\n"):
            if line.startswith("id: "):
                self.events += 1
                self.last_id = line[4:]
                self.opened.set()
                self.changed.set()

    async def run(self, host: str, port: int, key: str) -> None:
        try:
            reader, self.writer = await asyncio.open_connection(host, port, limit=1 << 20)
            self.writer.write(_request(EVENT_STREAM_PATH.format(id=self.video_id), f"{host}:{port}", key))
            status, headers = await _read_head(reader)
            if status != 200 or headers.get("transfer-encoding") != "chunked":
                raise ConnectionError(f"HTTP {status} {headers}")
            pending = ""
            while True:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                pending += (await reader.readexactly(size + 2))[:-2].decode()
                *blocks, pending = pending.split("\n\n")
                for block in blocks:
                    self._take(block)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.opened.set()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.task is not None:
            self.task.cancel()


async def wait_request(
    host: str, port: int, key: str, video_id: str, seconds: int
) -> tuple[int, dict[str, str], float, float]:
    """``GET /v1/videos/{id}`` with ``Prefer: wait=seconds``: status, headers, and when it was sent
    and answered (``time.perf_counter``)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        sent = time.perf_counter()
        writer.write(_request(f"/v1/videos/{video_id}", f"{host}:{port}", key, {"Prefer": f"wait={seconds}"}))
        status, headers = await _read_head(reader)
        await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, sent, time.perf_counter()
    finally:
        writer.close()


async def in_batches(factories: Sequence[Callable[[], Awaitable[T]]], size: int = BATCH) -> list[T]:
    results: list[T] = []
    for start in range(0, len(factories), size):
        results += await asyncio.gather(*(factory() for factory in factories[start : start + size]))
    return results


# --- what the server and the database report ---------------------------------------------------


COUNTED = {
    "queries": "videogen_watcher_queries_total",
    "rounds": 'videogen_watcher_rounds_total{outcome="ok"}',
    "streams_open": "videogen_event_streams_open",
    "waits": "videogen_prefer_waits",
}


def server_counts(server: Server) -> dict[str, float]:
    """The watcher's statements and rounds so far, and the streams and waits open now (``/metrics``)."""
    wanted = {series: name for name, series in COUNTED.items()}
    found = dict.fromkeys(COUNTED, 0.0)
    for line in httpx.get(server.base_url + "/metrics", timeout=30).text.splitlines():
        series, _, value = line.rpartition(" ")
        if series in wanted:
            found[wanted[series]] = float(value)
    return found


def database_transactions(admin: sa.Engine, database: str) -> int:
    with admin.connect() as conn:
        row = conn.execute(
            sa.text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :name"),
            {"name": database},
        ).one()
    return int(row[0])


@dataclass
class Window:
    """What one measured stretch of time cost the server and the database."""

    seconds: float
    rss_mb_at_start: float
    rss_mb: float
    cpu_percent: float
    watcher_rounds_per_second: float
    watcher_queries_per_second: float
    database_transactions_per_second: float
    streams_open_at_end: float  # as the API counts them (its gauges)
    waits_open_at_end: float


class Meter:
    """Takes the figures of a ``Window``: the API process (psutil), the watcher's counter, the
    database's transaction count less ``own`` (the benchmark's own commits meanwhile)."""

    def __init__(self, server: Server, admin: sa.Engine, database: str):
        self.server = server
        self.process = psutil.Process(server.process.pid)
        self.admin = admin
        self.database = database

    def rss_mb(self) -> float:
        return round(self.process.memory_info().rss / 2**20, 1)

    async def measure(self, hold: float, own: Callable[[], int]) -> Window:
        before = await asyncio.to_thread(server_counts, self.server)
        xacts_before = await asyncio.to_thread(database_transactions, self.admin, self.database)
        own_before = own()
        rss_at_start = self.rss_mb()
        cpu = self.process.cpu_times()
        cpu_before, started = cpu.user + cpu.system, time.perf_counter()
        await asyncio.sleep(hold)
        elapsed = time.perf_counter() - started
        cpu = self.process.cpu_times()
        cpu_used = cpu.user + cpu.system - cpu_before
        rss = self.rss_mb()
        xacts_after = await asyncio.to_thread(database_transactions, self.admin, self.database)
        own_after = own()
        after = await asyncio.to_thread(server_counts, self.server)
        return Window(
            seconds=round(elapsed, 2),
            rss_mb_at_start=rss_at_start,
            rss_mb=rss,
            cpu_percent=round(100 * cpu_used / elapsed, 1),
            watcher_rounds_per_second=round((after["rounds"] - before["rounds"]) / elapsed, 2),
            watcher_queries_per_second=round((after["queries"] - before["queries"]) / elapsed, 2),
            database_transactions_per_second=round(
                (xacts_after - xacts_before - (own_after - own_before)) / elapsed, 2
            ),
            streams_open_at_end=after["streams_open"],
            waits_open_at_end=after["waits"],
        )


# --- the simulated worker ------------------------------------------------------------------------


class SimulatedWorker:
    """Moves the progress of ``per_second`` of ``video_ids`` forward every second, in one UPDATE
    (a worker's heartbeats, for many jobs at once), from a thread; counts its commits."""

    def __init__(self, database_url: str, video_ids: Sequence[str], per_second: int):
        self.database_url = database_url
        self.video_ids = list(video_ids)
        self.per_second = per_second
        self.commits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-worker", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            chosen = random.sample(self.video_ids, min(self.per_second, len(self.video_ids)))
            with session_scope(self.database_url) as session:
                session.execute(
                    update(Video)
                    .where(Video.id.in_(chosen))
                    .values(progress=(Video.progress + 1) % 90, denoising_step=Video.denoising_step + 1)
                )
            self.commits += 1

    def __enter__(self) -> SimulatedWorker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def set_progress(database_url: str, video_id: str, progress: int) -> float:
    """Write one row's progress as a heartbeat would; when the commit returned."""
    with session_scope(database_url) as session:
        session.execute(update(Video).where(Video.id == video_id).values(progress=progress))
    return time.perf_counter()


def complete(database_url: str, video_ids: Sequence[str]) -> float:
    now = utcnow()
    with session_scope(database_url) as session:
        session.execute(
            update(Video)
            .where(Video.id.in_(video_ids))
            .values(status=VideoStatus.COMPLETED, progress=100, completed_at=now, phase=None, denoising_step=None)
        )
    return time.perf_counter()


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    account: Account
    running: list[str]  # followed by the streams, one each
    latency_probes: list[str]  # followed too, but left alone by the simulated worker
    queued: list[str]  # the waits' videos


def seed(streams: int, probes: int, waits: int) -> Callable[[Deployment], Seeded]:
    def insert_rows(deployment: Deployment) -> Seeded:
        account = create_account(deployment)
        org = account.organization_id
        running = [
            video_values(
                org, VideoStatus.IN_PROGRESS, progress=1, phase="denoising", denoising_step=1, started_at=utcnow()
            )
            for _ in range(streams + probes)
        ]
        queued = [video_values(org, VideoStatus.QUEUED) for _ in range(waits)]
        with session_scope(deployment.database_url) as session:
            session.execute(insert(Video), running + queued)
        ids = [row["id"] for row in running]
        return Seeded(account, ids[:streams], ids[streams:], [row["id"] for row in queued])

    return insert_rows


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def bench_streams(
    server: Server, meter: Meter, seeded: Seeded, args: argparse.Namespace, database_url: str
) -> dict[str, Any]:
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    key = seeded.account.api_key
    report: dict[str, Any] = {"baseline_rss_mb": meter.rss_mb(), "levels": []}
    streams: list[Stream] = []
    top = max(args.levels)
    targets = seeded.running[: top - len(seeded.latency_probes)] + seeded.latency_probes

    async def open_stream(video_id: str) -> Stream:
        stream = Stream(video_id)
        stream.task = asyncio.create_task(stream.run(host, port, key))
        await asyncio.wait_for(stream.opened.wait(), 60)
        return stream

    for level in args.levels:
        started = time.perf_counter()
        new = [lambda video_id=video_id: open_stream(video_id) for video_id in targets[len(streams) : level]]
        streams += await in_batches(new)
        open_seconds = time.perf_counter() - started
        failed = [s.error for s in streams if s.error]
        watched = [s.video_id for s in streams if s.video_id not in seeded.latency_probes]
        changes = max(1, round(args.changes * len(watched)))
        with SimulatedWorker(database_url, watched, changes) as worker:
            # A PostgreSQL backend publishes its counts up to 10 s after it went idle: let those of the
            # streams' openings land before the window starts.
            await asyncio.sleep(args.settle)
            events_before = sum(s.events for s in streams)
            keepalives_before = sum(s.keepalives for s in streams)
            window = await meter.measure(args.hold, lambda: worker.commits)
        row = {
            "streams": len(streams),
            "open_seconds": round(open_seconds, 2),
            "failed": len(failed),
            "first_errors": failed[:3],
            "changes_per_second": changes,
            "events_received": sum(s.events for s in streams) - events_before,
            "keepalives_received": sum(s.keepalives for s in streams) - keepalives_before,
            **dataclasses.asdict(window),
        }
        report["levels"].append(row)
        print(json.dumps(row), flush=True)

    # Latency at the top level: a probe's row changes; how long until its stream says so.
    by_video = {s.video_id: s for s in streams}
    latencies: list[float] = []
    watched = [s.video_id for s in streams if s.video_id not in seeded.latency_probes]
    with SimulatedWorker(database_url, watched, max(1, round(args.changes * len(watched)))):
        for sample in range(args.latency_samples):
            probe = by_video[seeded.latency_probes[sample % len(seeded.latency_probes)]]
            await asyncio.sleep(random.uniform(0.2, 1.2))  # anywhere in the watcher's cycle
            progress = 10 + sample % 80
            if probe.progress() == progress:
                progress += 1
            probe.changed.clear()
            committed = await asyncio.to_thread(set_progress, database_url, probe.video_id, progress)
            while probe.progress() != progress:
                await asyncio.wait_for(probe.changed.wait(), 30)
                probe.changed.clear()
            latencies.append(time.perf_counter() - committed)
    report["latency_ms"] = {
        "streams": len(streams),
        "samples": len(latencies),
        "p50": _ms(statistics.median(latencies)),
        "p95": _ms(_percentile(latencies, 0.95)),
        "max": _ms(max(latencies)),
    }
    print(json.dumps({"latency_ms": report["latency_ms"]}), flush=True)
    for stream in streams:
        stream.close()
    await asyncio.gather(*(s.task for s in streams if s.task), return_exceptions=True)
    await asyncio.sleep(2)  # the server's side of a thousand hang-ups, before the next phase
    return report


async def bench_waits(
    server: Server, meter: Meter, seeded: Seeded, args: argparse.Namespace, database_url: str
) -> dict[str, Any]:
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    key = seeded.account.api_key
    early = set(seeded.queued[: max(1, len(seeded.queued) // 10)])
    requests = [
        lambda video_id=video_id: wait_request(host, port, key, video_id, args.wait_seconds)
        for video_id in seeded.queued
    ]
    # The clients arrive at --arrival-rate (a tenth of a second's worth at a time), all waiting at
    # once by the end of the ramp; the window is from then until just before the first answers.
    ramp = len(requests) / args.arrival_rate
    per_tick = max(1, round(args.arrival_rate / 10))
    complete_after = ramp + min(2.0, args.wait_seconds / 3) if args.complete_after is None else args.complete_after
    started = time.perf_counter()

    async def send_all() -> list[tuple[int, dict[str, str], float, float]]:
        tasks = []
        for start in range(0, len(requests), per_tick):
            tasks += [asyncio.create_task(request()) for request in requests[start : start + per_tick]]
            await asyncio.sleep(0.1)
        return await asyncio.gather(*tasks)

    own = [0]

    async def complete_some() -> float:
        await asyncio.sleep(complete_after + random.uniform(0, 1))  # anywhere in the watcher's cycle
        committed = await asyncio.to_thread(complete, database_url, sorted(early))
        own[0] += 1
        return committed

    answers_task = asyncio.create_task(send_all())
    completed_task = asyncio.create_task(complete_some())
    await asyncio.sleep(ramp + 0.5)
    window = await meter.measure(max(args.wait_seconds - ramp - 1.5, 1.0), lambda: own[0])
    answers = await answers_task
    completed_at = await completed_task
    statuses: dict[str, int] = {}
    for status, _, _, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    applied = sum(
        1 for status, headers, _, _ in answers if headers.get("preference-applied") == f"wait={args.wait_seconds}"
    )
    waited = [
        answered - sent
        for (status, _, sent, answered), video_id in zip(answers, seeded.queued, strict=True)
        if video_id not in early and status == 200
    ]
    early_latency = [
        answered - completed_at
        for (status, _, _, answered), video_id in zip(answers, seeded.queued, strict=True)
        if video_id in early and status == 200
    ]
    tenth = max(1, len(waited) // 10)
    report = {
        "waits": len(answers),
        "wait_seconds": args.wait_seconds,
        "arrival_rate": args.arrival_rate,
        "completed_after_s": round(completed_at - started, 2),
        "statuses": statuses,
        "preference_applied": applied,
        "answered_after_waiting_s": {
            "count": len(waited),
            "min": round(min(waited), 2),
            "median": round(statistics.median(waited), 2),
            "max": round(max(waited), 2),
            # Late by the time the API took to admit them (its request queue): the first sent, the last.
            "median_of_first_tenth_sent": round(statistics.median(waited[:tenth]), 2),
            "median_of_last_tenth_sent": round(statistics.median(waited[-tenth:]), 2),
        },
        "completed_meanwhile_answered_ms": {
            "count": len(early_latency),
            "p50": _ms(statistics.median(early_latency)),
            "max": _ms(max(early_latency)),
        },
        "all_answered_in_s": round(time.perf_counter() - started, 2),
        **dataclasses.asdict(window),
    }
    print(json.dumps({"waits": report}), flush=True)
    return report


async def run(
    server: Server, meter: Meter, seeded: Seeded, args: argparse.Namespace, database_url: str
) -> dict[str, Any]:
    streams = await bench_streams(server, meter, seeded, args, database_url)
    waits = await bench_waits(server, meter, seeded, args, database_url)
    return {"streams": streams, "waits": waits}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--levels", default="10,100,1000", help="open streams at each level (comma-separated)")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds measured at each level")
    parser.add_argument(
        "--changes", type=float, default=0.1, help="share of the watched videos that change each second"
    )
    parser.add_argument(
        "--settle", type=float, default=11.0, help="seconds between opening streams and measuring (see --help)"
    )
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--waits", type=int, default=1000, help="Prefer: wait requests sent at once")
    parser.add_argument("--wait-seconds", type=int, default=15, help="N of Prefer: wait=N")
    parser.add_argument("--arrival-rate", type=float, default=200.0, help="Prefer: wait requests sent per second")
    parser.add_argument(
        "--complete-after",
        type=float,
        help="seconds (from the first wait sent) before a tenth of the waits' videos complete; default: the "
        "ramp's end plus 2 s (a third of the wait if shorter)",
    )
    parser.add_argument(
        "--postgres-url", default=POSTGRES_ADMIN_URL, help="a PostgreSQL URL allowed to create databases"
    )
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--quick", action="store_true", help="10 and 50 streams, 50 waits of 6 s, 1.5 s holds")
    args = parser.parse_args()
    if args.quick:
        args.levels, args.hold, args.latency_samples, args.waits, args.settle = "10,50", 1.5, 3, 50, 0.5
        args.wait_seconds = 6
    args.levels = sorted({int(level) for level in str(args.levels).split(",")})
    probes = min(10, max(args.levels))
    # Two sockets per stream on this machine (client and server): raise the soft limit to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 2 * (max(args.levels) + args.waits) + 200:
        raise SystemExit(f"the open-files limit ({hard}) is too low for {max(args.levels)} streams: raise ulimit -n")

    with (
        tempfile.TemporaryDirectory(prefix="bench_events_") as tmp,
        scratch_postgres(args.postgres_url) as database_url,
    ):
        with embedded_deployment(Path(tmp)) as embedded:
            deployment = dataclasses.replace(
                embedded,
                name="postgresql",
                database_url=database_url,
                settings={**embedded.settings, "VIDEOGEN_DATABASE_URL": database_url},
            )
            seeded = prepare(deployment, seed(max(args.levels) - probes, probes, args.waits))
            database = sa.engine.make_url(database_url).database or ""
            admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            try:
                with api_server(deployment, Path(tmp)) as server:
                    log_from = server.log_size()
                    meter = Meter(server, admin, database)
                    figures = asyncio.run(run(server, meter, seeded, args, database_url))
                    server_log = summarize_log(server.log_since(log_from))
            finally:
                admin.dispose()
                get_engine(database_url).dispose()
    report = {
        **report_header(args, machine=f"{psutil.cpu_count()} CPUs, {round(psutil.virtual_memory().total / 2**30)} GiB"),
        **figures,
        "server_log": server_log,
    }
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def print_table(report: dict[str, Any]) -> None:
    print()
    print("| open streams | API RSS MB | API CPU % | watcher queries/s | database xacts/s | events/s received |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| 0 | {report['streams']['baseline_rss_mb']} | | | | |")
    for row in report["streams"]["levels"]:
        events = round(row["events_received"] / row["seconds"], 1)
        print(
            f"| {row['streams']} | {row['rss_mb']} | {row['cpu_percent']} | {row['watcher_queries_per_second']} | "
            f"{row['database_transactions_per_second']} | {events} |"
        )
    latency = report["streams"]["latency_ms"]
    print(
        f"\nevent latency at {latency['streams']} streams: p50 {latency['p50']} ms, p95 {latency['p95']} ms, "
        f"max {latency['max']} ms"
    )
    waits = report["waits"]
    waited, early = waits["answered_after_waiting_s"], waits["completed_meanwhile_answered_ms"]
    print(
        f"{waits['waits']} Prefer: wait={waits['wait_seconds']} requests: statuses {waits['statuses']}, "
        f"Preference-Applied {waits['preference_applied']}, answered after {waited['median']} s "
        f"(min {waited['min']}, max {waited['max']}); {early['count']} completed meanwhile answered "
        f"{early['p50']} ms after their commit (max {early['max']}); API RSS {waits['rss_mb']} MB, "
        f"watcher {waits['watcher_queries_per_second']} queries/s"
    )
    log = report["server_log"]
    if log["errors"] or log["warnings"]:
        print(f"the server logged {log['errors']} errors and {log['warnings']} warnings: {log['messages']}")


if __name__ == "__main__":
    sys.exit(main())
