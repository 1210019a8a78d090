"""Building blocks of the HTTP benchmarks (``scripts/bench_api.py``, ``scripts/bench_scale.py``).

A benchmark of the API is mostly plumbing: a deployment to point the server at (a SQLite file, or a
PostgreSQL database and a Redis database of its own on the shared servers), a schema and a few
rows, a uvicorn process started the way operators start it, a load generator, and the cleanup that
leaves the shared servers as they were. That plumbing lives here, once, so that every benchmark
measures the same way and only says *what* it measures: its seed (``prepare`` takes any callable)
and its server settings (``api_server`` takes overrides).

The load generator is ``wrk`` (``apt-get install wrk``): a C event loop that keeps N connections
busy with keep-alive, so on a small machine the client costs far less CPU than the server it
measures; its requests are written as Lua scripts (``wrk_script``) and its report is parsed into a
``WrkResult``. ``--latency`` gives the percentiles.

Shared servers are borrowed, never disturbed: a PostgreSQL database is created for the run and
dropped after it (``scratch_postgres``), and a Redis database is claimed with the same claim key the
test suite uses (``tests/conftest.py``), so a test run and a benchmark never take the same one; only
that database is flushed at the end, and database 0 never.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

from cli.processes import upgrade_database
from videogen.accounts.api_keys import create_api_key
from videogen.accounts.organizations import create_organization
from videogen.accounts.tiers import TierCatalog
from videogen.database import get_engine, session_scope, utcnow
from videogen.ids import new_id
from videogen.settings import Settings
from videogen.videos.tables import VideoStatus

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = ROOT / "scripts"

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# A private database number on the shared Redis (never 0: that one belongs to whoever runs the server).
REDIS_URL = "redis://127.0.0.1:6379/13"
# The claim key of tests/conftest.py: a Redis database holding it is taken, by a test run or by us.
REDIS_CLAIM_KEY = "videogen-test-run-claim"
REDIS_CLAIM_SECONDS = 3600
# Deletes the claim, then flushes, only if the claim is still ours (one that expired may have been taken).
_FLUSH_IF_OURS = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or holder == false then redis.call('FLUSHDB') return 1 end
return 0
"""

# How a benchmarked server runs: one process, as little logging as the service allows.
UVICORN_FLAGS = ["--host", "127.0.0.1", "--workers", "1", "--log-level", "warning", "--no-access-log"]

# The tier of benchmark organizations: no limit a benchmark can reach, so it measures work, not 429s.
BENCH_TIER = "bench"
_BENCH_TIERS_TOML = f"""
[tiers.{BENCH_TIER}]
description = "Benchmarks: limits far beyond what one run can reach."
models = ["*"]
max_seconds = 5.4
max_size = "1280x720"
max_steps = 100
requests_per_minute = 1000000000
max_concurrent_jobs = 1000000000
video_seconds_per_day = 1e15
priority = 5
retention_hours = 24
"""


def require_wrk() -> str:
    """The path of ``wrk``, or exit with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`.")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git_commit() -> str:
    """The checked-out commit (with ``+dirty`` if the working tree has changes), for the record."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# --- deployments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """Where a benchmarked server keeps its state, as the ``VIDEOGEN_*`` settings of its process."""

    name: str
    data_dir: Path
    database_url: str
    settings: dict[str, str]

    def process_env(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a server process: ours without any ``VIDEOGEN_*`` (a developer's
        settings must not leak into a measurement), then the deployment's, then ``overrides``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGEN_")}
        env.update(self.settings)
        env.update(overrides or {})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    @property
    def tiers_file(self) -> Path:
        return Path(self.settings["VIDEOGEN_TIERS_FILE"])


def _common_settings(data_dir: Path, database_url: str, broker_url: str, rate_limit_url: str) -> dict[str, str]:
    tiers_file = data_dir / "tiers.toml"
    tiers_file.write_text(_BENCH_TIERS_TOML)
    return {
        "VIDEOGEN_DATA_DIR": str(data_dir),
        "VIDEOGEN_DATABASE_URL": database_url,
        "VIDEOGEN_BROKER_URL": broker_url,
        "VIDEOGEN_RATE_LIMIT_URL": rate_limit_url,
        "VIDEOGEN_TIERS_FILE": str(tiers_file),
        "VIDEOGEN_DEFAULT_TIER": BENCH_TIER,
        # No background work competing with the requests being measured.
        "VIDEOGEN_RECONCILE_INTERVAL_SECONDS": "0",
        "VIDEOGEN_LOG_LEVEL": "WARNING",
    }


@contextmanager
def embedded_deployment(data_dir: Path) -> Iterator[Deployment]:
    """The embedded configuration under ``data_dir``: SQLite file, filesystem broker, in-process limits."""
    database_url = f"sqlite:///{(data_dir / 'videogen.db').as_posix()}"
    yield Deployment(
        "embedded", data_dir, database_url, _common_settings(data_dir, database_url, "filesystem://", "memory://")
    )


@contextmanager
def production_deployment(
    data_dir: Path, postgres_admin_url: str = POSTGRES_ADMIN_URL, redis_url: str = REDIS_URL
) -> Iterator[Deployment]:
    """The production configuration: a scratch PostgreSQL database, a claimed Redis database as the
    broker and the rate limiter's store, a secret key set as operators set it. Storage stays on
    local disk (the benchmarked requests never touch it)."""
    with scratch_postgres(postgres_admin_url) as database_url, claimed_redis(redis_url) as broker_url:
        settings = _common_settings(data_dir, database_url, broker_url, broker_url)
        settings["VIDEOGEN_SECRET_KEY"] = Fernet.generate_key().decode()
        yield Deployment("production", data_dir, database_url, settings)


@contextmanager
def scratch_postgres(admin_url: str = POSTGRES_ADMIN_URL, prefix: str = "bench") -> Iterator[str]:
    """A PostgreSQL database of the run's own (``prefix`` and a random suffix), dropped afterwards
    whatever connections are still open. Yields its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def claimed_redis(url: str = REDIS_URL) -> Iterator[str]:
    """Claim the Redis database ``url`` names (empty, and held by no test run or benchmark), yield
    its URL, and flush it at the end: that database only, and only while the claim is still ours."""
    parts = urlsplit(url)
    number = parts.path.strip("/")
    if not number.isdigit() or int(number) == 0:
        raise SystemExit(f"{url}: name a private Redis database number other than 0, e.g. redis://127.0.0.1:6379/13")
    token = f"bench-{os.getpid()}-{secrets.token_hex(6)}"
    client = redis.Redis.from_url(urlunsplit(parts))
    try:
        if not client.set(REDIS_CLAIM_KEY, token, nx=True, ex=REDIS_CLAIM_SECONDS):
            raise SystemExit(f"{url} is claimed by a test run or another benchmark: pick another database number.")
        if (size := cast(int, client.dbsize())) != 1:
            client.delete(REDIS_CLAIM_KEY)
            raise SystemExit(
                f"{url} holds {size - 1} keys of someone else's: pick another database number (or, if they are "
                f"leftovers of a killed benchmark, empty it with `redis-cli -n {number} flushdb`)."
            )
        try:
            yield urlunsplit(parts)
        finally:
            client.eval(_FLUSH_IF_OURS, 1, REDIS_CLAIM_KEY, token)
    finally:
        client.close()


# --- schema and seed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """An organization on the benchmark tier and one of its API keys (the secret, shown once)."""

    organization_id: str
    api_key: str


def create_account(deployment: Deployment, name: str = "bench") -> Account:
    """An organization on ``BENCH_TIER`` with an API key, made by the domain as the CLI makes them."""
    tiers = TierCatalog.from_file(deployment.tiers_file)
    with session_scope(deployment.database_url) as session:
        org = create_organization(session, tiers, f"{name}-{secrets.token_hex(3)}", BENCH_TIER)
        created = create_api_key(session, org, name=name)
        return Account(org.id, created.secret)


# The clip every benchmark row describes: what the API writes for a 1 s, 256x256 hunyuanvideo-tiny
# request at its defaults (9 frames at 8 fps: 1.125 s rendered).
BENCH_CLIP: dict[str, Any] = {
    "seconds": "1",
    "duration_seconds": 1.125,
    "width": 256,
    "height": 256,
    "fps": 8,
    "num_frames": 9,
    "num_inference_steps": 4,
    "guidance_scale": 6.0,
}


def report_header(args: Any, **fields: Any) -> dict[str, Any]:
    """The start of a benchmark's JSON report: the commit, the machine's CPUs, ``fields`` and the
    options it ran with."""
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    return {"commit": git_commit(), "cpus": os.cpu_count(), **fields, "options": options}


def video_values(organization_id: str, status: VideoStatus = VideoStatus.QUEUED, **overrides: Any) -> dict[str, Any]:
    """The columns of one ``videos`` row as the API would have written it for a small
    hunyuanvideo-tiny request, for ``session.add(Video(**values))`` or a bulk ``insert(Video)``.
    Completed rows get their outcome (keys, size, times) filled in."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id("video"),
        "organization_id": organization_id,
        "status": status,
        "model": "hunyuanvideo-tiny",
        "prompt": "bench",
        **BENCH_CLIP,
        "seed": 1,
        "metadata_": {},
        "created_at": now,
    }
    if status == VideoStatus.COMPLETED:
        video_id = values["id"]
        values.update(
            progress=100,
            started_at=now,
            completed_at=now,
            expires_at=now.replace(year=now.year + 1),
            attempts=1,
            video_key=f"videos/{video_id}.mp4",
            thumbnail_key=f"videos/{video_id}.jpg",
            spritesheet_key=f"videos/{video_id}.sprites.jpg",
            video_bytes=12345,
        )
    values.update(overrides)
    return values


def migrate(deployment: Deployment) -> None:
    """Create the schema with the service's own migrations (what ``videogen db upgrade`` runs)."""
    upgrade_database(Settings(data_dir=deployment.data_dir, database_url=deployment.database_url))


def prepare(deployment: Deployment, seed: Callable[[Deployment], T]) -> T:
    """Migrate the deployment's database, run ``seed`` on it and return what it returns. This
    process's connections are closed afterwards: the servers are what gets measured."""
    migrate(deployment)
    try:
        return seed(deployment)
    finally:
        get_engine(deployment.database_url).dispose()


# --- servers -------------------------------------------------------------------------------------


class ServerFailed(RuntimeError):
    """A server exited, or never became ready; the message ends with its log."""


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_since(0).splitlines()[-lines:])

    def log_size(self) -> int:
        """Where the log ends now: pass it to ``log_since`` to read what a phase of a run logged."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""


# A record of the service's log format (api.app) or of uvicorn's, and the last line of a traceback.
_LOG_RECORD = re.compile(r"^(?:\S+ \S+ )?(CRITICAL|ERROR|WARNING)[: ]\s*(\S+?:)?\s*(.*)$", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Disconnect|Timeout|Exit)\w*)(?::|$)", re.MULTILINE)


def summarize_log(text: str) -> dict[str, Any]:
    """What a server logged at WARNING and above: counts by level, the most frequent messages
    (their first 100 characters) and the exceptions its tracebacks ended with."""
    records = _LOG_RECORD.findall(text)
    messages = Counter(" ".join(filter(None, (level, logger, message[:100]))) for level, logger, message in records)
    return {
        "errors": sum(1 for level, _, _ in records if level in ("ERROR", "CRITICAL")),
        "warnings": sum(1 for level, _, _ in records if level == "WARNING"),
        "messages": dict(messages.most_common(5)),
        "exceptions": dict(Counter(_EXCEPTION_LINE.findall(text)).most_common(5)),
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def uvicorn_server(
    name: str,
    app: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    factory: bool = True,
    app_dir: Path | None = None,
    ready_path: str = "/readyz",
    start_timeout: float = 120.0,
) -> Iterator[Server]:
    """``python -m uvicorn APP`` on a free port with ``UVICORN_FLAGS``, once ``ready_path`` answers
    200; stopped (TERM, then KILL) on exit. Its output goes to ``log_dir/NAME.log``."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), app, *UVICORN_FLAGS]
    command += ["--port", str(port), *(["--app-dir", str(app_dir)] if app_dir else [])]
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise ServerFailed(f"{name} exited with {process.returncode} while starting:\n{server.log_tail()}")
            try:
                if httpx.get(server.base_url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"{name} not ready after {start_timeout:.0f} s:\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)


@contextmanager
def api_server(deployment: Deployment, log_dir: Path, overrides: Mapping[str, str] | None = None) -> Iterator[Server]:
    """The real API (``uvicorn --factory api.app:create_app``) on ``deployment``, settings
    ``overrides`` (``VIDEOGEN_*`` names) applied last."""
    with uvicorn_server("api", "api.app:create_app", deployment.process_env(overrides), log_dir) as server:
        yield server


# --- wrk -----------------------------------------------------------------------------------------

# Counts responses by status in every thread and prints them, with the first body of each 5xx,
# after the run (wrk copies each thread's globals, tables included, to ``done``).
_COUNT_STATUSES_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; samples = {} end
function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status >= 500 and samples[k] == nil then samples[k] = body end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do io.write(string.format("BENCH_STATUS %s %d\\n", k, v)) end
    for k, v in pairs(t:get("samples")) do
      io.write(string.format("BENCH_SAMPLE %s %s\\n", k, (string.gsub(v, "[\\r\\n]", " "))))
    end
  end
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of printable ASCII is a valid Lua string literal


def wrk_script(
    path: Path,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    json_body: object = None,
    count_statuses: bool = False,
) -> Path:
    """Write the Lua script of one kind of request to ``path``: method, headers, a JSON body, and
    optionally per-status counting (which costs wrk a Lua call per response: not for throughput)."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if json_body is not None:
        lines.append(f"wrk.body = {_lua_string(json.dumps(json_body, separators=(',', ':')))}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    path.write_text("\n".join(lines) + "\n" + (_COUNT_STATUSES_LUA if count_statuses else ""))
    return path


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reports. Latencies are of requests answered (wrk drops those past its
    timeout, which it counts in ``socket_errors['timeout']``)."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    statuses: dict[int, int] = field(default_factory=dict)
    error_bodies: dict[int, str] = field(default_factory=dict)

    @property
    def failed_connections(self) -> int:
        return sum(self.socket_errors.values())

    def status_count(self, predicate: Callable[[int], bool]) -> int:
        return sum(count for status, count in self.statuses.items() if predicate(status))

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "non_2xx_3xx": self.non_2xx_3xx,
            "socket_errors": self.socket_errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "error_bodies": {str(k): v for k, v in sorted(self.error_bodies.items())},
        }


_TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


def _ms(value: str, unit: str) -> float:
    return round(float(value) * _TIME_UNITS_MS[unit], 3)


def parse_wrk(output: str) -> WrkResult:
    """The figures of ``wrk --latency`` output (and of ``_COUNT_STATUSES_LUA`` if it ran)."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match

    percentiles = {p: _ms(v, u) for p, v, u in re.findall(rf"^\s+(50|90|99)%\s+{_TIME}\s*$", output, re.MULTILINE)}
    done = find(rf"^\s+(\d+) requests in {_TIME},")
    latency_max = find(rf"^\s+Latency\s+{_TIME}\s+{_TIME}\s+{_TIME}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    totals: Counter[int] = Counter()
    for status, count in re.findall(r"^BENCH_STATUS (\d+) (\d+)$", output, re.MULTILINE):
        totals[int(status)] += int(count)  # one line per wrk thread
    bodies = dict(reversed(re.findall(r"^BENCH_SAMPLE (\d+) (.*)$", output, re.MULTILINE)))
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2), done.group(3)) / 1000,
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=percentiles.get("50", 0.0),
        p90_ms=percentiles.get("90", 0.0),
        p99_ms=percentiles.get("99", 0.0),
        max_ms=_ms(latency_max.group(5), latency_max.group(6)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
        if errors
        else {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        statuses=dict(totals),
        error_bodies={int(k): v[:500] for k, v in bodies.items()},
    )


def run_wrk(
    url: str,
    script: Path,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    timeout: int = 10,
) -> WrkResult:
    """Run ``wrk --latency`` against ``url`` with ``script`` for ``duration`` whole seconds."""
    command = [require_wrk(), "--latency", "-t", str(min(threads, connections)), "-c", str(connections)]
    command += ["-d", f"{duration}s", "--timeout", f"{timeout}s", "-s", str(script), url]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 60)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    return parse_wrk(finished.stdout)


# --- liveness while loaded -----------------------------------------------------------------------


class LivenessProbe:
    """Polls ``url`` (``/healthz``) from a thread while a load runs, as an orchestrator would, and
    records how long each answer took; a failed or non-200 poll counts as a failure."""

    def __init__(self, url: str, interval: float = 0.1, timeout: float = 10.0):
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness-probe", daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get(self.url).status_code
                    if status != 200:
                        self.failures.append(f"HTTP {status}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.latencies.append(time.perf_counter() - started)
                self._stop.wait(self.interval)

    def __enter__(self) -> LivenessProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    @property
    def max_seconds(self) -> float:
        return max(self.latencies, default=0.0)

    def slower_than(self, seconds: float) -> int:
        return sum(1 for latency in self.latencies if latency > seconds)

    def as_dict(self, limit_seconds: float) -> dict[str, Any]:
        return {
            "polls": len(self.latencies),
            "max_ms": round(self.max_seconds * 1000, 1),
            "median_ms": round(statistics.median(self.latencies) * 1000, 1) if self.latencies else None,
            f"over_{limit_seconds:g}s": self.slower_than(limit_seconds),
            "failures": self.failures[:10],
        }
