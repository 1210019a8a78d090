"""Benchmark queue pickup: how long a job waits before an idle worker starts it, in both configurations,
and what an idle worker costs in CPU while it waits for one.

    python scripts/bench_pickup.py [--jobs 30] [--quick] [--json PATH] [--embedded-poll-seconds S]

Pickup is the delay users feel before anything happens, and the two brokers reach it differently:
Redis wakes a waiting worker, while the embedded broker (a folder) is polled, so there pickup is
bounded by ``VIDEOGEN_EMBEDDED_BROKER_POLL_SECONDS`` and every poll costs CPU even when nothing
arrives. This measures both sides of that trade on the real processes, started as an operator
starts them (``videogen serve``, ``videogen worker``, ``videogen webhook-worker``, configured only
through ``VIDEOGEN_*`` variables), with ``hunyuanvideo-tiny`` built into a temporary folder:

* embedded: SQLite, the filesystem broker and local storage, as ``videogen dev`` runs them;
* production-like: a scratch PostgreSQL database, Redis on a database number of its own (claimed
  the way test runs claim theirs, so neither takes the other's) and local storage.

Jobs are submitted one at a time, each after the previous one finished and a random pause: the
worker is idle, and each job lands at a random point of its polling cycle (the pause spans at least
two polling intervals, since a worker's cycle restarts when its previous job ends). Pickup is the job's
``videos.started_at`` (set by the worker's claim) minus its ``created_at`` (set by the API's
insert), read from the database at microsecond precision: it includes the API's commit and the
nudge's send as well as the broker and the worker's loop. Idle CPU is the worker processes'
user+system time over a quiet window after the last job (nothing submitted, reconciler off),
as CPU milliseconds per idle second. Everything is removed afterwards: processes, the scratch
database, the Redis database (FLUSHDB of that number only) and the temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil  # type: ignore[import-untyped]  # no py.typed, and no stubs installed here
import redis
import sqlalchemy as sa
from benchlib import scratch_postgres

from videogen.database import make_engine
from videogen.settings import Settings
from videogen.videos.tables import Video

T = TypeVar("T")

MODEL = "hunyuanvideo-tiny"
# The cheapest job the tiny twin accepts: pickup is what is measured, not generation.
JOB: dict[str, Any] = {
    "prompt": "pickup",
    "model": MODEL,
    "size": "128x128",
    "seconds": "1",
    "fps": 4,
    "num_inference_steps": 1,
}
FINISHED = {"completed", "failed", "cancelled"}
JOB_DEADLINE_SECONDS = 240.0  # a loaded 2-core machine is several times slower than an idle one
START_DEADLINE_SECONDS = 180.0

# Test runs (tests/conftest.py) claim a Redis database with this key and take only one that holds
# nothing else: claiming ours the same way keeps this benchmark and concurrent test runs apart.
REDIS_CLAIM_KEY = "videogen-test-run-claim"
REDIS_CLAIM_SECONDS = 3600
_RELEASE_CLAIM = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_FLUSH_IF_OURS = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or holder == false then redis.call('FLUSHDB') return 1 end
return 0
"""


# --- the services it needs: a scratch PostgreSQL database (benchlib's), a Redis database of its own


@contextmanager
def private_redis(server_url: str) -> Iterator[str]:
    """A Redis database number no one else uses (claimed, and empty but for the claim); flushed
    afterwards if it is still ours. Yields its URL."""
    token = f"bench-pickup-{os.getpid()}-{secrets.token_hex(4)}"
    parts = urlsplit(server_url)
    with redis.Redis.from_url(urlunsplit(parts._replace(path="/0"))) as probe:  # reads, never writes
        try:
            count = int(probe.config_get("databases")["databases"])
        except (redis.ResponseError, KeyError, ValueError):
            count = 16
    for number in range(1, count):  # never database 0
        url = urlunsplit(parts._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.set(REDIS_CLAIM_KEY, token, nx=True, ex=REDIS_CLAIM_SECONDS):
            if client.dbsize() == 1:
                break
            client.eval(_RELEASE_CLAIM, 1, REDIS_CLAIM_KEY, token)
        client.close()
    else:
        raise SystemExit(f"no free Redis database on {server_url} (each one is claimed or holds keys)")
    try:
        yield url
    finally:
        client.eval(_FLUSH_IF_OURS, 1, REDIS_CLAIM_KEY, token)
        client.close()


# --- the stack: API, worker and webhook worker processes -----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def videogen_env(data_dir: Path, models_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any ``VIDEOGEN_*`` of the caller's, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGEN_")}
    env.update(
        VIDEOGEN_DATA_DIR=str(data_dir),
        VIDEOGEN_MODELS_DIR=str(models_dir),
        VIDEOGEN_MODELS=json.dumps([MODEL]),  # one queue, as a worker per model has
        VIDEOGEN_DEFAULT_MODEL=MODEL,
        VIDEOGEN_DEVICE="cpu",
        # No reconciler: its rounds would add work (and broker calls) to the idle window.
        VIDEOGEN_RECONCILE_INTERVAL_SECONDS="0",
        VIDEOGEN_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def videogen(env: dict[str, str], *args: str) -> str:
    """Run a ``videogen`` CLI command in a fresh process; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=env["VIDEOGEN_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"videogen {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Stack:
    """One configuration's processes, each in a session of its own so that stopping it stops its children."""

    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return Path(self.env["VIDEOGEN_DATA_DIR"])

    @property
    def database_url(self) -> str:
        return self.env["VIDEOGEN_DATABASE_URL"]

    def start(self) -> None:
        videogen(self.env, "db", "upgrade")
        for role, args in [
            ("api", ["serve", "--port", str(self.port)]),
            ("worker", ["worker"]),
            ("webhook-worker", ["webhook-worker", "--concurrency", "2"]),
        ]:
            log = (self.folder / f"{role}.log").open("ab")
            self.processes[role] = subprocess.Popen(
                [sys.executable, "-m", "cli.main", *args],
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()

        def ready() -> bool:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200

        self.wait(ready, START_DEADLINE_SECONDS, "the API to be ready")

    def wait(self, predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
        """Poll ``predicate`` until it returns something (a process exiting meanwhile is an error)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            dead = {role: p.returncode for role, p in self.processes.items() if p.poll() is not None}
            if dead:
                raise RuntimeError(f"{self.name}: {dead} exited while waiting for {what}\n{self.logs()}")
            try:
                value = predicate()
                if value:
                    return value
            except (httpx.HTTPError, OSError) as exc:
                last_error = exc
            time.sleep(interval)
        raise TimeoutError(f"{self.name}: no {what} after {timeout:g} s ({last_error!r})\n{self.logs()}")

    def logs(self) -> str:
        tails = (f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}" for p in self.folder.glob("*.log"))
        return "\n".join(tails)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


# --- the measurement -----------------------------------------------------------------------------


@dataclass
class Result:
    configuration: str
    jobs: int
    pickup_ms: list[float]
    p50_ms: float
    p90_ms: float
    max_ms: float
    idle_seconds: float
    idle_cpu_ms_per_s: dict[str, float]  # per process role


def run_job(stack: Stack, http: httpx.Client) -> str:
    """Submit one job, wait until it has finished; its id."""
    created = http.post("/videos", json=JOB)
    created.raise_for_status()
    video_id: str = created.json()["id"]

    def finished() -> dict[str, Any] | None:
        video: dict[str, Any] = http.get(f"/videos/{video_id}").json()
        return video if video["status"] in FINISHED else None

    video = stack.wait(finished, JOB_DEADLINE_SECONDS, f"{video_id} to finish", interval=0.1)
    if video["status"] != "completed":
        raise RuntimeError(f"{stack.name}: {video_id} ended {video['status']}: {video.get('error')}\n{stack.logs()}")
    return video_id


def idle_cpu(stack: Stack, roles: list[str], seconds: float) -> dict[str, float]:
    """CPU milliseconds (user + system) each process spends per second while nothing happens."""
    processes = {role: psutil.Process(stack.processes[role].pid) for role in roles}
    before = {role: p.cpu_times() for role, p in processes.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    after = {role: p.cpu_times() for role, p in processes.items()}
    return {
        role: ((after[role].user - before[role].user) + (after[role].system - before[role].system)) * 1000 / elapsed
        for role in roles
    }


def measure(stack: Stack, jobs: int, idle_seconds: float, phase_seconds: float) -> Result:
    """Pickups of ``jobs`` jobs after a warm-up, each submitted 0.3 s plus a random part of
    ``phase_seconds`` after the previous one finished; then the idle CPU."""
    key = videogen(stack.env, "keys", "create", "--org", "bench", "--tier", "enterprise", "-q").strip()
    engine = make_engine(stack.database_url)
    headers = {"Authorization": f"Bearer {key}"}
    pickups: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{stack.port}/v1", headers=headers, timeout=30) as http:
            print(f"{stack.name}: warm-up job (loads the pipeline, opens the connections)", flush=True)
            run_job(stack, http)
            for n in range(jobs):
                # The worker is back in its loop, and the job lands at a random point of its polling cycle.
                time.sleep(0.3 + random.uniform(0, phase_seconds))
                video_id = run_job(stack, http)
                with engine.connect() as conn:
                    created_at, started_at = conn.execute(
                        sa.select(Video.created_at, Video.started_at).where(Video.id == video_id)
                    ).one()
                assert started_at is not None, f"{video_id} completed without a start"
                pickups.append((started_at - created_at).total_seconds() * 1000)
                print(f"{stack.name}: job {n + 1}/{jobs} picked up in {pickups[-1]:.1f} ms", flush=True)
    finally:
        engine.dispose()
    time.sleep(1.0)  # the last job's tail (its acknowledgement, the webhook worker's round) is over
    print(f"{stack.name}: idle CPU over {idle_seconds:g} s", flush=True)
    cpu = idle_cpu(stack, ["worker", "webhook-worker"], idle_seconds)
    return Result(
        configuration=stack.name,
        jobs=jobs,
        pickup_ms=pickups,
        p50_ms=statistics.median(pickups),
        p90_ms=statistics.quantiles(pickups, n=10, method="inclusive")[8],
        max_ms=max(pickups),
        idle_seconds=idle_seconds,
        idle_cpu_ms_per_s=cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=30, help="measured jobs per configuration (default 30)")
    parser.add_argument("--quick", action="store_true", help="8 jobs and a 5 s idle window per configuration")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU window (default 10 s)")
    parser.add_argument("--json", type=Path, help="also write the results (every pickup included) here")
    parser.add_argument(
        "--embedded-poll-seconds",
        type=float,
        help="VIDEOGEN_EMBEDDED_BROKER_POLL_SECONDS for the embedded stack (default: the setting's default)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VIDEOGEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL allowed to create databases (default: $VIDEOGEN_TEST_POSTGRES_URL or local)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("VIDEOGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        help="the Redis server (a free database number on it is claimed; default: $VIDEOGEN_TEST_REDIS_URL or local)",
    )
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be at least 2 (a p90 needs two points)")
    jobs, idle_seconds = (8, 5.0) if args.quick else (args.jobs, args.idle_seconds)
    poll = args.embedded_poll_seconds or Settings.model_fields["embedded_broker_poll_seconds"].default
    phase_seconds = max(0.5, 2 * poll)
    # A SIGTERM unwinds like Ctrl-C does, so every process, database and folder is cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    results: list[Result] = []
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-pickup-")))
        models = root / "models"
        print(f"building {MODEL} into {models}", flush=True)
        videogen(videogen_env(root, models), "model", "build-tiny", "-m", MODEL)

        postgres = cleanup.enter_context(scratch_postgres(args.postgres_url, prefix="bench_pickup"))
        broker = cleanup.enter_context(private_redis(args.redis_url))
        configurations: list[tuple[str, dict[str, str]]] = [
            ("embedded", {"VIDEOGEN_DATABASE_URL": f"sqlite:///{root / 'embedded' / 'videogen.db'}"}),
            ("production", {"VIDEOGEN_DATABASE_URL": postgres, "VIDEOGEN_BROKER_URL": broker}),
        ]
        if args.embedded_poll_seconds is not None:
            configurations[0][1]["VIDEOGEN_EMBEDDED_BROKER_POLL_SECONDS"] = str(args.embedded_poll_seconds)
        for name, settings in configurations:
            (root / name).mkdir()
            stack = Stack(name, videogen_env(root / name, models, **settings))
            print(f"{name}: starting the API, a worker and a webhook worker", flush=True)
            cleanup.callback(stack.stop)
            stack.start()
            results.append(measure(stack, jobs, idle_seconds, phase_seconds))
            stack.stop()

    labels = {
        "embedded": f"embedded (SQLite, filesystem broker polled every {poll * 1000:g} ms)",
        "production": "production-like (PostgreSQL, Redis broker)",
    }
    print()
    print("| configuration | jobs | pickup p50 | p90 | max | idle CPU: worker | webhook worker |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        cpu = r.idle_cpu_ms_per_s
        print(
            f"| {labels[r.configuration]} | {r.jobs} | {r.p50_ms:.1f} ms | {r.p90_ms:.1f} ms | {r.max_ms:.1f} ms "
            f"| {cpu['worker']:.1f} ms/s | {cpu['webhook-worker']:.1f} ms/s |"
        )
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")  # the kernel counts CPU time in clock ticks
    print(
        f"\npickup: videos.started_at - created_at. idle CPU: user+system CPU ms per second over {idle_seconds:g} s "
        f"with nothing submitted (resolution {tick_ms / idle_seconds:.1f} ms/s); {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        report = {
            "job": JOB,
            "embedded_poll_seconds": poll,
            "idle_cpu_resolution_ms_per_s": tick_ms / idle_seconds,
            "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg(),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
