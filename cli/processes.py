"""For whoever runs the service: start the API and the workers, migrate the database, build models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, domain_errors, redact
from videogen.settings import Settings, get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
model_app = typer.Typer(help="Models and weights.", no_args_is_help=True)

ROOT = Path(__file__).resolve().parents[1]


# --- database -----------------------------------------------------------------------------------


def upgrade_database(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version (Alembic)."""
    settings = get_settings()
    upgrade_database(settings)
    console.print(f"[green]database is up to date[/green] ({redact(settings.database_url)})")


# --- models -------------------------------------------------------------------------------------


@model_app.command("build-tiny")
def model_build_tiny(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Only this tiny twin (repeatable). Default: all.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
    force: Annotated[bool, typer.Option(help="Rebuild even if it exists.")] = False,
) -> None:
    """Build the tiny twins (each kind's real classes at toy sizes, random weights: output is noise)
    into MODELS_DIR, reusing those already there."""
    from model import ModelRegistry

    settings = get_settings()
    registry = ModelRegistry.from_file(settings.models_file)
    names = model or [name for name in registry.names() if registry.get(name).tiny_builder]
    with domain_errors():
        built = build_tiny_if_missing(settings, names, seed=seed, force=force)
    for name in names:
        state = "built" if name in built else "already there"
        console.print(f"[green]{name}[/green] {state}: {settings.models_dir}/{registry.get(name).weights_subdir}")


def build_tiny_if_missing(
    settings: Settings, names: list[str] | None = None, seed: int = 0, force: bool = False
) -> list[str]:
    """Build the tiny twins among ``names`` (default: the served models) that are missing; the
    names of those built."""
    from model import ModelRegistry, UnknownModelError
    from model.tiny import build_tiny, is_built
    from videogen.errors import InvalidRequestError

    assert settings.models_dir is not None
    registry = ModelRegistry.from_file(settings.models_file)
    built: list[str] = []
    for name in names if names is not None else settings.models:
        try:
            spec = registry.get(name)
        except UnknownModelError as exc:
            raise InvalidRequestError(str(exc), param="model") from None
        target = settings.models_dir / spec.weights_subdir
        if spec.tiny_builder is None or (is_built(target) and not force):
            continue
        with console.status(f"building {name} in {target}"):
            build_tiny(spec, target, seed=seed)
        built.append(name)
    return built


@model_app.command("list")
def model_list() -> None:
    """Models this deployment serves and whether their weights are present."""
    from model import ModelRegistry
    from model.loading import weights_dir_for

    settings = get_settings()
    registry = ModelRegistry.from_file(settings.models_file)
    table = Table("model", "capabilities", "served", "weights", "sizes", "max frames")
    for name in registry.names():
        spec = registry.get(name)
        weights = weights_dir_for(spec, settings.models_dir or Path("."))
        present = (weights / "model_index.json").is_file()
        table.add_row(
            name,
            ", ".join(sorted(spec.capabilities)),
            "yes" if name in settings.models else "no",
            f"[green]{weights}[/green]" if present else f"[red]missing: {weights}[/red]",
            ", ".join(str(s) for s in spec.limits.sizes),
            str(spec.limits.max_frames),
        )
    console.print(table)


# --- processes ----------------------------------------------------------------------------------


def _serve_command(settings: Settings, host: str, port: int, workers: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.app:create_app",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        settings.log_level.lower(),
        # On SIGTERM, requests still running get this long, then are cancelled: a shutdown is bounded
        # (event streams and Prefer: wait requests end at once, api.events).
        "--timeout-graceful-shutdown",
        str(settings.api_shutdown_grace_seconds),
    ]


def _worker_command(settings: Settings, models: list[str]) -> list[str]:
    from videogen.broker import queue_for_model

    queues = ",".join(queue_for_model(m) for m in (models or settings.models))
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--pool",
        "solo",  # one job at a time, and the pipeline stays warm in this very process
        "--queues",
        queues,
        "--loglevel",
        settings.log_level,
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"videogen-{'-'.join(models) or 'all'}@%h",
    ]


def _webhook_worker_command(settings: Settings, concurrency: int | None = None) -> list[str]:
    from videogen.broker import WEBHOOK_QUEUE

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.webhook_app",
        "worker",
        "--pool",
        "threads",  # deliveries wait on the network, not the CPU
        "--concurrency",
        str(concurrency or settings.webhook_concurrency),
        "--queues",
        WEBHOOK_QUEUE,
        "--loglevel",
        settings.log_level,
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        "videogen-webhooks@%h",
    ]


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address. Default: VIDEOGEN_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Port. Default: VIDEOGEN_API_PORT.")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API."""
    settings = get_settings()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The workers' counters in files a scrape of any of them sums (api.metrics): a fresh folder
        # per start, as prometheus-client's multiprocess mode needs.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="videogen-metrics-")
    os.execv(sys.executable, _serve_command(settings, host or settings.api_host, port or settings.api_port, workers))


def worker(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Serve only this model (repeatable).")
    ] = None,
) -> None:
    """Run a GPU worker: one job at a time, pipeline kept warm between jobs."""
    settings = get_settings()
    os.execv(sys.executable, _worker_command(settings, model or []))


def webhook_worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Deliveries sent at once. Default: VIDEOGEN_WEBHOOK_CONCURRENCY.")
    ] = None,
) -> None:
    """Run a webhook delivery worker (no GPU, no torch): sends, signs, retries."""
    settings = get_settings()
    os.execv(sys.executable, _webhook_worker_command(settings, concurrency))


def reconcile() -> None:
    """Once: re-send jobs the broker lost, requeue jobs of dead workers, delete expired files."""
    from videogen.housekeeping import reconcile_once

    report = reconcile_once(get_settings())
    console.print(
        f"redispatched {len(report.redispatched)}, requeued {len(report.requeued)}, "
        f"failed {len(report.failed)}, expired {len(report.expired)}, webhooks re-sent {len(report.webhooks_resent)}"
    )


def dev(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """The whole embedded stack in one command: migrate, build the served tiny twins that are missing,
    run the API, a worker and a webhook worker."""
    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    upgrade_database(settings)
    build_tiny_if_missing(settings)
    processes = [
        subprocess.Popen(_serve_command(settings, host, port)),
        subprocess.Popen(_worker_command(settings, [])),
        subprocess.Popen(_webhook_worker_command(settings)),
    ]
    console.print(f"[green]videogen is starting[/green] on http://{host}:{port} (docs at /docs); Ctrl-C stops it.")
    console.print("Create a key with: [bold]videogen keys create --org dev[/bold]")

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    codes = [p.returncode for p in processes]
    raise typer.Exit(0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1)
