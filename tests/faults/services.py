"""Private servers for fault tests, and the service stack that runs against them.

Fault tests stop, pause (SIGSTOP) and flush servers, so they never touch the shared ones: each run
starts its own Redis, PostgreSQL cluster and moto S3 server, on free ports, with their files in
temporary folders, and kills them at the end. Every server runs in the foreground as a child of
the test process, in a session (process group) of its own.

Nothing outlives a run even if the test process itself is killed (SIGKILL, a CI timeout): a
``Reaper`` process, which the test process tells of every process group and folder it creates,
kills and removes them when its pipe from the test process closes (at exit, or at death). Redis and
moto also run under ``setpriv --pdeathsig KILL`` (PostgreSQL's postmaster does not die of it);
that signal fires when the *thread* that started the process exits, so start (and restart) servers
from the test's main thread, never from a worker thread of a test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import (
    ADMIN_TOKEN,
    QUICK,
    finished,
    production_env,
    service_env,
    wait_for,
)
from tests.stack import ServiceStack, free_port, wait_until

POSTGRES_BIN = Path(os.environ.get("VIDEOGEN_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# The kernel kills a private server when the test process dies (see the module docstring).
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []

# Long enough that waiting for it is a failure: a test that recovers within seconds proves that
# recovery did not come from the periodic re-send of old messages.
REDISPATCH_AFTER_SECONDS = 600
STALE_AFTER_SECONDS = 10
S3_BUCKET = "videogen-faults"
S3_CONNECT_TIMEOUT_SECONDS = 1.0
S3_READ_TIMEOUT_SECONDS = 2.0
S3_MAX_ATTEMPTS = 2
MODEL = "hunyuanvideo-tiny"
QUEUE = f"videogen.{MODEL}"


# Run by the reaper process: read "+ PGID", "- PGID" and "dir PATH" lines until the test process
# closes the pipe or dies, then kill what is still registered and remove the folders.
_REAPER_SCRIPT = """
import os, shutil, signal, sys
groups, folders = set(), []
for line in sys.stdin:
    op, _, arg = line.strip().partition(" ")
    if op == "+":
        groups.add(int(arg))
    elif op == "-":
        groups.discard(int(arg))
    elif op == "dir":
        folders.append(arg)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
for folder in folders:
    shutil.rmtree(folder, ignore_errors=True)
"""


class Reaper:
    """A process that kills this run's process groups and removes its folders once the test process
    is gone, however it went: its stdin is a pipe only the test process holds (subprocesses do not
    inherit it), so it reads end-of-file when the test process closes it or dies."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _REAPER_SCRIPT], stdin=subprocess.PIPE, start_new_session=True, text=True
        )

    def _send(self, line: str) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            stdin.write(line + "\n")
            stdin.flush()

    def watch(self, pgid: int) -> None:
        self._send(f"+ {pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"- {pgid}")

    def remove_at_exit(self, folder: Path) -> None:
        self._send(f"dir {folder}")

    def close(self) -> None:
        """Kill whatever is still registered, remove the folders, and wait for that."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class PrivateServer(ABC):
    """One server process of this test run's own, on its own port, with controls for faults:
    ``stop`` (SIGTERM, or any signal: SIGKILL for a crash), ``start`` again on the same port,
    ``pause`` (SIGSTOP: the port still accepts connections, nothing answers) and ``resume``."""

    name = "server"

    def __init__(self, log_dir: Path, reaper: Reaper | None = None):
        self.reaper = reaper
        self.port = free_port()
        self.log_path = log_dir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False
        self.starts = 0

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool:
        """Whether the server answers (polled after a start)."""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> float:
        """Start the server (again, on the same port) and wait until it answers; returns the seconds
        that took."""
        assert not self.running, f"{self.name} is already running"
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"--- start #{self.starts + 1} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*_DIE_WITH_PARENT, *self.command()],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.paused = False
        self.starts += 1
        process = self.process
        if self.reaper is not None:
            self.reaper.watch(process.pid)
        deadline = began + timeout
        while True:
            if process.poll() is not None:
                self.stop(signal.SIGKILL)
                raise RuntimeError(f"{self.name} exited with {process.returncode}: {self.log_tail()}")
            try:
                if self.ready():
                    return time.monotonic() - began
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise TimeoutError(f"{self.name} did not answer on port {self.port} within {timeout}s")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Stop the server with ``sig`` (a paused one is resumed first so that it can act on it) and
        wait until it is gone, killing it if it takes longer than ``timeout``."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            if self.paused and sig != signal.SIGKILL:
                self._signal(signal.SIGCONT)
            self._signal(sig)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait(timeout=10)
        self._reap_group(process.pid)
        if self.reaper is not None:
            self.reaper.forget(process.pid)
        self.process = None
        self.paused = False

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown of any kind."""
        self.stop(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: connections still open and requests still arrive, but nothing answers: a hung
        server, the worst kind of outage for a client without timeouts."""
        assert self.running, f"{self.name} is not running"
        self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.running and self.paused:
            self._signal(signal.SIGCONT)
        self.paused = False

    def restore(self) -> bool:
        """Resume or start the server, whatever a test left it in; True if it had to be started."""
        self.resume()
        if self.running:
            return False
        self.stop()  # collect a server that died on its own
        self.start()
        return True

    def close(self) -> None:
        """The finalizer: the server is gone afterwards, whatever state it was in."""
        try:
            self.stop(signal.SIGKILL, timeout=10)
        except Exception:  # noqa: BLE001 - cleanup goes on
            if self.process is not None:
                self._reap_group(self.process.pid)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        try:
            if sig in (signal.SIGSTOP, signal.SIGCONT, signal.SIGKILL):
                # The whole group: PostgreSQL's backends and helpers are children of the postmaster.
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)  # a shutdown request is the server's to carry out
        except ProcessLookupError:
            pass

    @staticmethod
    def _reap_group(pgid: int) -> None:
        """Kill what is left of the server's process group (backends of a killed postmaster)."""
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class PrivateRedis(PrivateServer):
    """``redis-server`` with no persistence: a restart is an empty Redis, as after a crash of a
    broker without AOF. ``flush`` is FLUSHALL."""

    name = "redis"

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 5.0) -> redis.Redis:
        """A client that fails at once (no retries): probes must see a fault as it is."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def ready(self) -> bool:
        with self.client(timeout=1.0) as client:
            return bool(client.ping())

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()

    def queue_length(self, queue: str = QUEUE) -> int:
        with self.client() as client:
            return int(client.llen(queue))  # type: ignore[arg-type]


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of this run's own: ``initdb`` (trust authentication, no fsync) into a
    temporary folder owned by the ``postgres`` OS user, the postmaster in the foreground as that
    user. ``stop`` sends SIGINT (PostgreSQL's fast shutdown: sessions are cut, as in a failover);
    ``kill`` is a crash. The database ``videogen`` is created at the first start."""

    name = "postgres"
    database = "videogen"

    def __init__(self, log_dir: Path, reaper: Reaper | None = None):
        super().__init__(log_dir, reaper)
        # Not under pytest's temporary folders: those are private to root (0700), and the server
        # runs as ``postgres``.
        self.root = Path(tempfile.mkdtemp(prefix="videogen-faults-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.socket_dir.mkdir()
        if reaper is not None:
            reaper.remove_at_exit(self.root)
        self._as_postgres = ["setpriv", "--reuid", "postgres", "--regid", "postgres", "--init-groups"]

    def initdb(self) -> float:
        began = time.monotonic()
        shutil.chown(self.root, "postgres", "postgres")
        shutil.chown(self.socket_dir, "postgres", "postgres")
        subprocess.run(
            [
                *self._as_postgres,
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        return time.monotonic() - began

    def command(self) -> list[str]:
        return [
            *self._as_postgres,
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
        ]

    def ready(self) -> bool:
        probe = [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"]
        return subprocess.run(probe, timeout=10).returncode == 0

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> None:
        super().stop(sig, timeout)

    def url(self, database: str | None = None) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database or self.database}"

    def create_database(self) -> None:
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.database}"'))
        finally:
            engine.dispose()

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateS3(PrivateServer):
    """moto's standalone S3 server. It keeps everything in memory: a restart loses every bucket
    and object (``restore`` re-creates the bucket; objects stored before are gone). For "S3 hung"
    use ``pause``."""

    name = "moto"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/moto-api/", timeout=2).status_code < 500

    def create_bucket(self, bucket: str = S3_BUCKET) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass

    def restore(self) -> bool:
        started = super().restore()
        if started:
            self.create_bucket()
        return started


@dataclass
class Row:
    """A job as the database has it: the truth, whatever the API answers during a fault."""

    id: str
    status: str
    attempts: int
    started_at: Any
    completed_at: Any


@dataclass
class ReapedServiceStack(ServiceStack):
    """``ServiceStack`` whose processes (API, workers) are registered with the reaper as they are
    spawned, restarts by a test included, so that they die with the test process."""

    reaper: Reaper | None = None
    spawned: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, role: str, args: list[str]) -> subprocess.Popen[bytes]:
        process = super()._spawn(role, args)
        if self.reaper is not None:
            self.reaper.watch(process.pid)
            self.spawned.append(process)
        return process

    def forget_dead(self) -> None:
        """Unregister the processes that are gone (their ids may be reused)."""
        for process in [p for p in self.spawned if p.poll() is not None]:
            assert self.reaper is not None
            self.reaper.forget(process.pid)
            self.spawned.remove(process)


@dataclass
class FaultStack:
    """The production configuration (API, GPU worker, webhook worker as separate processes) on
    the private servers. ``restore`` puts everything back after a test: servers resumed or
    started, the bucket re-created, dead processes of the stack started again."""

    redis: PrivateRedis
    postgres: PrivatePostgres
    s3: PrivateS3
    app: ReapedServiceStack
    startup_seconds: dict[str, float] = field(default_factory=dict)
    _engine: sa.Engine | None = None

    @property
    def base_url(self) -> str:
        return self.app.base_url

    @property
    def root_url(self) -> str:
        return self.app.root_url

    def admin(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=timeout)

    def new_key(self, prefix: str, tier: str = "enterprise") -> str:
        """A key for a brand-new organization, made through the admin API (faster than the CLI)."""
        name = f"{prefix}-{secrets.token_hex(3)}"
        with self.admin() as admin:
            created = admin.post("/admin/organizations", json={"name": name, "tier": tier})
            assert created.status_code == 200, created.text
            key = admin.post(f"/admin/organizations/{name}/keys", json={"name": "faults"})
            assert key.status_code == 200, key.text
        return str(key.json()["secret"])

    def client(self, key: str, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.postgres.url(), pool_pre_ping=True, pool_size=2)
        return self._engine

    def rows(self, ids: list[str]) -> dict[str, Row]:
        """The jobs' rows, read straight from the (private) database."""
        with self.engine.connect() as conn:
            result = conn.execute(
                sa.text(
                    "SELECT id, status, attempts, started_at, completed_at FROM videos WHERE id = ANY(:ids)"
                ).bindparams(ids=list(ids))
            )
            return {r.id: Row(r.id, str(r.status), r.attempts, r.started_at, r.completed_at) for r in result}

    def queued_count(self, model: str = MODEL) -> int:
        """Jobs of ``model`` waiting for a worker, in the database."""
        with self.engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM videos WHERE status = 'queued' AND model = :model")
            return int(conn.execute(query.bindparams(model=model)).scalar_one())

    def processes(self) -> dict[str, subprocess.Popen[bytes] | None]:
        return {"api": self.app.api, "worker": self.app.worker, "webhook worker": self.app.webhook_worker}

    def assert_processes_alive(self) -> None:
        """Recovery is the processes' own: none of them died or had to be restarted."""
        dead = {role: p.returncode if p else None for role, p in self.processes().items() if p is None or p.poll()}
        assert not dead, f"processes of the stack died during the fault: {dead}\n{self.app.logs()}"

    def log(self, role: str) -> str:
        """The whole log of one process of the stack: ``api``, ``worker`` or ``webhooks``."""
        path = self.app.log_dir / f"{self.app.name}-{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def warm_up(self) -> None:
        """One job through the whole stack, so that the model is loaded before any test times it."""
        key = self.new_key("warm-up")
        with self.client(key) as http:
            created = http.post("/videos", json=QUICK)
            assert created.status_code in (200, 201), created.text
            video = wait_for(http, created.json()["id"], finished, timeout=300)
            assert video["status"] == "completed", video

    def restore(self, restart_processes: bool = False) -> None:
        """Undo whatever a test did to the servers and processes. With ``restart_processes`` (after
        a failed test, when the service may not have recovered on its own) the API and the workers
        are started afresh too, so that one failure does not cascade into the next tests."""
        self.redis.restore()
        self.s3.restore()
        self.postgres.restore()
        if restart_processes:
            self.app.stop()
        if self.app.api is None or self.app.api.poll() is not None:
            self.app.stop_api_only()
            self.app.start_api()
        if self.app.worker is None or self.app.worker.poll() is not None:
            self.app.stop_worker()
            self.app.start_worker()
        if self.app.webhook_worker is None or self.app.webhook_worker.poll() is not None:
            self.app.stop_webhook_worker()
            self.app.start_webhook_worker()
        self.app.forget_dead()
        # Back to normal: the API answers from the database again.
        wait_until(lambda: httpx.get(f"{self.root_url}/readyz", timeout=5).status_code == 200, 60, message="API ready")

    def close(self) -> None:
        try:
            self.app.stop()
        finally:
            self.app.forget_dead()
            if self._engine is not None:
                self._engine.dispose()


def fault_env(
    models_dir: Path, data_dir: Path, redis_server: PrivateRedis, postgres: PrivatePostgres, s3: PrivateS3
) -> dict[str, str]:
    """The production configuration on the private servers, with the recovery knobs the fault tests
    rely on (see the constants above)."""
    env = service_env(
        models_dir,
        data_dir,
        VIDEOGEN_MODELS=json.dumps([MODEL, "hunyuanvideo-i2v-tiny"]),
        VIDEOGEN_DEFAULT_MODEL=MODEL,
        VIDEOGEN_DEFAULT_IMAGE_MODEL="hunyuanvideo-i2v-tiny",
        VIDEOGEN_WORKER_LOADED_MODELS="1",
        # The body-limit tests post to /v1/access_requests many times from one IP.
        VIDEOGEN_ACCESS_REQUESTS_PER_HOUR="100000",
        VIDEOGEN_REDISPATCH_AFTER_SECONDS=str(REDISPATCH_AFTER_SECONDS),
        VIDEOGEN_STALE_AFTER_SECONDS=str(STALE_AFTER_SECONDS),
        # A hung store fails a call within about attempts x (read timeout + 1) seconds: keep that
        # short here (the defaults allow about 90 s) so that tests can bound what clients wait.
        VIDEOGEN_S3_CONNECT_TIMEOUT_SECONDS=str(S3_CONNECT_TIMEOUT_SECONDS),
        VIDEOGEN_S3_READ_TIMEOUT_SECONDS=str(S3_READ_TIMEOUT_SECONDS),
        VIDEOGEN_S3_MAX_ATTEMPTS=str(S3_MAX_ATTEMPTS),
    )
    env.update(production_env(postgres.url(), redis_server.url, s3.url, S3_BUCKET))
    return env


@dataclass
class PrivateServers:
    redis: PrivateRedis
    postgres: PrivatePostgres
    s3: PrivateS3
    reaper: Reaper
    startup_seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def private_servers(log_dir: Path) -> Iterator[PrivateServers]:
    """Redis, PostgreSQL and S3 of this run's own, all killed (and their files removed) on exit."""
    reaper = Reaper()
    servers = PrivateServers(
        PrivateRedis(log_dir, reaper), PrivatePostgres(log_dir, reaper), PrivateS3(log_dir, reaper), reaper
    )
    timings = servers.startup_seconds
    try:
        timings["postgres initdb"] = servers.postgres.initdb()
        timings["postgres start"] = servers.postgres.start()
        servers.postgres.create_database()
        timings["redis start"] = servers.redis.start()
        timings["moto start"] = servers.s3.start()
        yield servers
    finally:
        for server in (servers.s3, servers.redis, servers.postgres):
            server.close()
        reaper.close()
