"""Run the real service for tests: an API process and a Celery worker process, configured only
through ``VIDEOGEN_*`` environment variables, exactly as an operator would run them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy, and return that. Tests wait on
    conditions, never for a fixed time: ``timeout`` is a generous bound on failure, not a pause."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {message} (last error: {last_error!r})")


@contextmanager
def moto_server(log_path: Path) -> Iterator[str]:
    """moto's standalone S3 server on a free port, logging to ``log_path``: real HTTP, real boto3
    signing, real presigned URLs. Yields its URL; stopped on exit."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: httpx.get(f"{url}/moto-api/", timeout=2).status_code < 500, 120, message="moto server")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def videogen_cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``videogen`` CLI as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=env.get("VIDEOGEN_DATA_DIR", REPO),
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


@dataclass
class ServiceStack:
    """API + worker processes sharing one configuration."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    webhook_worker: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, role: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{self.name}-{role}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            env=self.env,
            cwd=self.log_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> ServiceStack:
        videogen_cli(self.env, "db", "upgrade")
        self.start_api()
        self.start_worker()
        self.start_webhook_worker()
        return self

    def start_api(self) -> None:
        self.api = self._spawn("api", ["serve", "--port", str(self.port)])
        wait_until(lambda: httpx.get(f"{self.root_url}/readyz", timeout=2).status_code == 200, 120, message="API")

    def start_worker(self) -> None:
        # The log is appended to across restarts: wait for this process's "ready.", not an earlier one's.
        log = self.log_dir / f"{self.name}-worker.log"
        ready_before = log.read_bytes().count(b"ready.") if log.exists() else 0
        self.worker = self._spawn("worker", ["worker"])
        wait_until(lambda: log.read_bytes().count(b"ready.") > ready_before, 180, message="worker ready")

    def start_webhook_worker(self) -> None:
        log = self.log_dir / f"{self.name}-webhooks.log"
        ready_before = log.read_bytes().count(b"ready.") if log.exists() else 0
        self.webhook_worker = self._spawn("webhooks", ["webhook-worker", "--concurrency", "4"])
        wait_until(lambda: log.read_bytes().count(b"ready.") > ready_before, 120, message="webhook worker ready")

    def stop_webhook_worker(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.webhook_worker, sig)
        self.webhook_worker = None

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.worker, sig)
        self.worker = None

    def stop_api_only(self) -> None:
        _stop(self.api, signal.SIGTERM)
        self.api = None

    def stop(self) -> None:
        self.stop_webhook_worker()
        self.stop_worker()
        _stop(self.api, signal.SIGTERM)
        self.api = None

    def create_key(self, org: str, tier: str | None = None) -> str:
        """A key for ``org`` (created on ``tier``, or the default tier, if it is new)."""
        args = ["keys", "create", "--org", org, "-q"] + (["--tier", tier] if tier else [])
        return videogen_cli(self.env, *args).stdout.strip()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )


def _stop(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def make_broken_model(tiny_dir: Path, target: Path) -> Path:
    """A copy of the tiny model whose transformer weights are truncated: loading it raises, as a
    half-copied checkpoint would on a real GPU box."""
    shutil.copytree(tiny_dir, target)
    weights = target / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return target
