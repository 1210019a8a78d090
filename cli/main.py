"""``videogen``: run, operate and use the service from a terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from videogen.accounts.tiers import TierCatalog, load_tiers
from videogen.settings import Settings, get_settings

if TYPE_CHECKING:
    from videogen.accounts.api_keys import CreatedKey
    from videogen.accounts.tables import AccessRequest, Organization

app = typer.Typer(help="videogen: self-hosted text-to-video API.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organizations: tiers and suspension.", no_args_is_help=True)
access_app = typer.Typer(help="Access applications: review, approve, reject.", no_args_is_help=True)
tiers_app = typer.Typer(help="Access tiers (from the tiers file).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
model_app = typer.Typer(help="Models and weights.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints and the delivery log (operator view).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(orgs_app, name="orgs")
app.add_typer(access_app, name="access-requests")
app.add_typer(tiers_app, name="tiers")
app.add_typer(db_app, name="db")
app.add_typer(model_app, name="model")
app.add_typer(webhooks_app, name="webhooks")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
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
    console.print(f"[green]database is up to date[/green] ({_redact(settings.database_url)})")


# --- keys ---------------------------------------------------------------------------------------


def _tiers() -> TierCatalog:
    return load_tiers(get_settings().tiers_file)


def _domain_errors() -> contextlib.AbstractContextManager[None]:
    """Print a domain error (unknown org, bad tier, ...) as one red line and exit 1."""

    @contextlib.contextmanager
    def handler() -> Iterator[None]:
        from videogen.errors import VideogenError

        try:
            yield
        except VideogenError as exc:
            err_console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None

    return handler()


def _print_secret(created: CreatedKey, org_name: str, quiet: bool) -> None:
    if quiet:
        print(created.secret)
        return
    console.print(f"Created key [bold]{created.api_key.id}[/bold] for organization [bold]{org_name}[/bold].")
    console.print("Store it now; it will not be shown again:\n")
    print(created.secret)


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="Organization name; created if it does not exist.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    tier: Annotated[
        str | None, typer.Option(help="Tier of a new organization. Default: VIDEOGEN_DEFAULT_TIER.")
    ] = None,
    expires_in_days: Annotated[float | None, typer.Option(help="The key stops working after this many days.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key.")] = False,
) -> None:
    """Create an API key. The key is printed once and never stored in clear."""
    from videogen.accounts import api_keys, organizations
    from videogen.database import session_scope, utcnow

    settings = get_settings()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with _domain_errors(), session_scope(settings.database_url) as session:
        organization = organizations.get_or_create_organization(session, _tiers(), org, tier or settings.default_tier)
        created = api_keys.create_api_key(session, organization, name, expires_at)
    _print_secret(created, org, quiet)


@keys_app.command("rotate")
def keys_rotate(
    key_id: str, quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key.")] = False
) -> None:
    """Create a replacement key; the old one keeps working until you revoke it."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        created = api_keys.rotate_api_key(session, key_id)
        org_name = created.api_key.organization.name
    _print_secret(created, org_name, quiet)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, for scripts.")] = False,
) -> None:
    """List API keys (prefixes only)."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    table = Table("id", "organization", "name", "prefix", "created", "last used", "revoked")
    with session_scope(get_settings().database_url) as session:
        for key in api_keys.list_api_keys(session, org):
            row = {
                "id": key.id,
                "organization": key.organization.name,
                "name": key.name,
                "prefix": key.prefix,
                "created_at": _when(key.created_at),
                "last_used_at": _when(key.last_used_at),
                "revoked_at": _when(key.revoked_at),
            }
            if as_json:
                print(json.dumps(row))
            else:
                table.add_row(*(v + "…" if k == "prefix" else v for k, v in row.items()))
    if not as_json:
        console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key at once: its next request gets 401."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        api_keys.revoke_api_key(session, key_id)
    console.print(f"revoked {key_id}")


# --- organizations, tiers, access requests, usage -------------------------------------------


def _org_row(org: Organization) -> dict[str, str]:
    return {
        "id": org.id,
        "name": org.name,
        "tier": org.tier,
        "status": org.status,
        "created_at": _when(org.created_at),
        "suspended_at": _when(org.suspended_at),
    }


def _emit(rows: list[dict[str, str]], as_json: bool, *columns: str) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)


@orgs_app.command("create")
def orgs_create(name: str, tier: Annotated[str, typer.Option(help="Tier name (see `videogen tiers list`).")]) -> None:
    """Create an organization on a tier."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        org = organizations.create_organization(session, _tiers(), name, tier)
    console.print(f"created {org.id} ({name}, tier {tier})")


@orgs_app.command("list")
def orgs_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """List organizations with their tier and status."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with session_scope(get_settings().database_url) as session:
        rows = [_org_row(o) for o in organizations.list_organizations(session)]
    _emit(rows, as_json, "id", "name", "tier", "status", "created_at")


@orgs_app.command("set-tier")
def orgs_set_tier(org: str, tier: str) -> None:
    """Move an organization (id or name) to another tier; applies from its next request."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        organizations.set_tier(session, _tiers(), organizations.find_organization(session, org), tier)
    console.print(f"{org} is now on tier {tier}")


@orgs_app.command("suspend")
def orgs_suspend(org: str) -> None:
    """Suspend an organization: its keys get 403 at once and its queued jobs do not start."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        organizations.suspend(session, organizations.find_organization(session, org))
    console.print(f"suspended {org}")


@orgs_app.command("activate")
def orgs_activate(org: str) -> None:
    """Lift a suspension; the organization's queued jobs are sent to the workers again."""
    from videogen import broker
    from videogen.accounts import organizations
    from videogen.database import session_scope

    settings = get_settings()
    broker.enable(settings)  # the organization's waiting jobs are announced once this commits
    with _domain_errors(), session_scope(settings.database_url) as session:
        organizations.reactivate(session, organizations.find_organization(session, org))
    console.print(f"activated {org}")


@tiers_app.command("list")
def tiers_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """The tiers of the tiers file and their limits."""
    rows = [{k: str(v) for k, v in t.public_info().items()} for t in _tiers().all()]
    _emit(
        rows,
        as_json,
        "name",
        "models",
        "max_seconds",
        "max_size",
        "max_steps",
        "requests_per_minute",
        "max_concurrent_jobs",
        "video_seconds_per_day",
        "priority",
        "retention_hours",
    )


@app.command()
def usage(
    org: Annotated[str, typer.Option("--org", help="Organization id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """An organization's usage over the last 30 days, per day and model (from the database)."""
    from dataclasses import asdict

    from videogen.accounts import organizations
    from videogen.accounts.usage import usage_report
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        organization = organizations.find_organization(session, org)
        report = usage_report(session, organization, _tiers().get(organization.tier), None, None)
    if as_json:
        print(json.dumps(asdict(report)))
        return
    _emit(
        [{k: str(v) for k, v in asdict(b).items()} for b in report.data],
        False,
        "date",
        "model",
        "jobs",
        "completed",
        "failed",
        "cancelled",
        "video_seconds",
    )
    console.print(f"today: {report.today_video_seconds:g} of {report.daily_quota:g} video-seconds ({report.tier})")


def _request_row(r: AccessRequest) -> dict[str, str]:
    return {
        "id": r.id,
        "company": r.company,
        "contact_email": r.contact_email,
        "use_case": r.use_case,
        "status": r.status,
        "created_at": _when(r.created_at),
        "tier": r.tier or "",
        "organization_id": r.organization_id or "",
    }


@access_app.command("list")
def access_list(
    status: Annotated[str | None, typer.Option(help="pending, approved or rejected.")] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Access applications (pending ones by default)."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with session_scope(get_settings().database_url) as session:
        rows = [_request_row(r) for r in access_requests.list_requests(session, status or None)]
    _emit(rows, as_json, "id", "company", "contact_email", "status", "created_at", "use_case")


@access_app.command("approve")
def access_approve(
    request_id: str,
    tier: Annotated[str, typer.Option(help="Tier of the new organization.")],
    org_name: Annotated[str | None, typer.Option(help="Organization name. Default: the company.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the first key.")] = False,
) -> None:
    """Approve an application: creates the organization on TIER and its first key (shown once)."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        approval = access_requests.approve(session, _tiers(), request_id, tier=tier, organization_name=org_name)
        org_label = approval.organization.name
    _print_secret(approval.key, org_label, quiet)


@access_app.command("reject")
def access_reject(request_id: str, reason: Annotated[str, typer.Option(help="Why, for the record.")] = "") -> None:
    """Reject an application."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        access_requests.reject(session, request_id, reason)
    console.print(f"rejected {request_id}")


# --- models -------------------------------------------------------------------------------------


@model_app.command("build-tiny")
def model_build_tiny(
    out: Annotated[Path | None, typer.Option(help="Directory to write. Default: MODELS_DIR/hunyuanvideo-tiny.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
    force: Annotated[bool, typer.Option(help="Rebuild even if it exists.")] = False,
) -> None:
    """Build hunyuanvideo-tiny: HunyuanVideo's classes at toy sizes, random weights (output is noise)."""
    target = build_tiny_if_missing(get_settings(), out=out, seed=seed, force=force)
    console.print(f"[green]hunyuanvideo-tiny ready[/green] at {target}")


def build_tiny_if_missing(settings: Settings, out: Path | None = None, seed: int = 0, force: bool = False) -> Path:
    from model.registry import HUNYUANVIDEO_TINY

    assert settings.models_dir is not None
    target = out or settings.models_dir / HUNYUANVIDEO_TINY.weights_subdir
    if force or not (target / "model_index.json").is_file():
        from model.tiny import build_tiny_model

        with console.status(f"building hunyuanvideo-tiny in {target}"):
            build_tiny_model(target, seed=seed)
    return target


@model_app.command("list")
def model_list() -> None:
    """Models this deployment serves and whether their weights are present."""
    from model import ModelRegistry
    from model.loading import weights_dir_for

    settings = get_settings()
    registry = ModelRegistry.from_file(settings.models_file)
    table = Table("model", "served", "weights", "sizes", "max frames")
    for name in registry.names():
        spec = registry.get(name)
        weights = weights_dir_for(spec, settings.models_dir or Path("."))
        present = (weights / "model_index.json").is_file()
        table.add_row(
            name,
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address. Default: VIDEOGEN_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Port. Default: VIDEOGEN_API_PORT.")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API."""
    settings = get_settings()
    os.execv(sys.executable, _serve_command(settings, host or settings.api_host, port or settings.api_port, workers))


@app.command()
def worker(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Serve only this model (repeatable).")
    ] = None,
) -> None:
    """Run a GPU worker: one job at a time, pipeline kept warm between jobs."""
    settings = get_settings()
    os.execv(sys.executable, _worker_command(settings, model or []))


@app.command("webhook-worker")
def webhook_worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Deliveries sent at once. Default: VIDEOGEN_WEBHOOK_CONCURRENCY.")
    ] = None,
) -> None:
    """Run a webhook delivery worker (no GPU, no torch): sends, signs, retries."""
    settings = get_settings()
    os.execv(sys.executable, _webhook_worker_command(settings, concurrency))


@app.command()
def reconcile() -> None:
    """Once: re-send jobs the broker lost, requeue jobs of dead workers, delete expired files."""
    from videogen.housekeeping import reconcile_once

    report = reconcile_once(get_settings())
    console.print(
        f"redispatched {len(report.redispatched)}, requeued {len(report.requeued)}, "
        f"failed {len(report.failed)}, expired {len(report.expired)}, webhooks re-sent {len(report.webhooks_resent)}"
    )


@app.command()
def dev(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """The whole embedded stack in one command: migrate, build the tiny model, run the API, a worker
    and a webhook worker."""
    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    upgrade_database(settings)
    if "hunyuanvideo-tiny" in settings.models:
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


# --- webhooks -----------------------------------------------------------------------------------


def _org_id(session: object, org: str | None) -> str | None:
    from videogen.accounts import organizations

    return organizations.find_organization(session, org).id if org else None  # type: ignore[arg-type]


@webhooks_app.command("endpoints")
def webhooks_endpoints(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Webhook endpoints, with their health: disabled ones say why."""
    from videogen.database import session_scope
    from videogen.webhooks import endpoints

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        rows = [
            {
                "id": e.id,
                "organization_id": e.organization_id,
                "url": e.url,
                "event_types": ",".join(e.event_types),
                "status": "enabled" if e.enabled else "disabled",
                "failing_since": _when(e.failing_since),
                "disabled_reason": e.disabled_reason or "",
            }
            for e in endpoints.list_endpoints(session, _org_id(session, org), limit=1000).items
        ]
    _emit(rows, as_json, "id", "organization_id", "url", "event_types", "status", "failing_since", "disabled_reason")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    endpoint: Annotated[str | None, typer.Option(help="Only deliveries to this endpoint.")] = None,
    video: Annotated[str | None, typer.Option(help="Only deliveries about this video.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")] = None,
    limit: Annotated[int, typer.Option(help="Newest N.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with every attempt.")] = False,
) -> None:
    """The delivery log: status, attempts, last answer, next retry."""
    from videogen.database import session_scope
    from videogen.webhooks import deliveries

    with _domain_errors(), session_scope(get_settings().database_url) as session:
        page = deliveries.list_deliveries(
            session, _org_id(session, org), endpoint_id=endpoint, video_id=video, limit=limit
        )
        rows = [
            {
                "id": d.id,
                "event_type": d.event.type,
                "video_id": d.event.video_id,
                "url": d.url,
                "status": d.status,
                "attempts": str(d.attempts),
                "last_status_code": str(d.last_status_code or ""),
                "last_error": d.last_error or "",
                "next_attempt_at": _when(d.next_attempt_at) if d.status == "pending" else "",
                "attempt_log": [
                    {
                        "attempted_at": _when(a.attempted_at),
                        "status_code": a.status_code,
                        "latency_ms": a.latency_ms,
                        "error": a.error,
                    }
                    for a in d.attempt_log
                ],
            }
            for d in page.items
        ]
    if not as_json:
        for row in rows:
            row.pop("attempt_log")
    columns = (
        "id",
        "event_type",
        "video_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
    )
    _emit(rows, as_json, *columns)  # type: ignore[arg-type]


@webhooks_app.command("redeliver")
def webhooks_redeliver(delivery_id: str) -> None:
    """Send a delivery again now (same webhook-id, fresh retry schedule)."""
    from videogen import broker
    from videogen.database import session_scope
    from videogen.webhooks import deliveries

    settings = get_settings()
    broker.enable(settings)  # the delivery is announced to the webhook workers once this commits
    with _domain_errors(), session_scope(settings.database_url) as session:
        deliveries.redeliver(session, deliveries.get_delivery(session, None, delivery_id))
    console.print(f"{delivery_id} queued for redelivery")


# --- client -------------------------------------------------------------------------------------


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="What the video should show.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to save the MP4 (implies --wait).")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the video and show progress.")] = False,
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT.")] = None,
    seconds: Annotated[str | None, typer.Option(help="Clip length in seconds.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    steps: Annotated[int | None, typer.Option(help="Denoising steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, for reproducible results.")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="What to avoid.")] = None,
    base_url: Annotated[str, typer.Option(envvar="VIDEOGEN_BASE_URL", help="API root.")] = "http://127.0.0.1:8000/v1",
    api_key: Annotated[str, typer.Option(envvar="VIDEOGEN_API_KEY", help="API key.")] = "",
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600,
) -> None:
    """Create a video through the HTTP API; with --wait/-o, follow it and download the result."""
    body = {
        key: value
        for key, value in {
            "prompt": prompt,
            "model": model,
            "size": size,
            "seconds": seconds,
            "fps": fps,
            "num_inference_steps": steps,
            "seed": seed,
            "negative_prompt": negative_prompt,
        }.items()
        if value is not None
    }
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as client:
        video = _checked(client.post("/videos", json=body))
        console.print(
            f"created [bold]{video['id']}[/bold] ({video['model']}, {video['size']}, "
            f"{video['seconds']} s, seed {video['seed']})"
        )
        if not (wait or output):
            return
        video = _follow(client, video, timeout)
        if video["status"] != "completed":
            error = video.get("error") or {}
            err_console.print(f"[red]{video['id']} {video['status']}[/red]: {error.get('message', '')}")
            raise typer.Exit(1)
        if output is not None:
            with client.stream("GET", f"/videos/{video['id']}/content", follow_redirects=True) as response:
                if response.status_code != 200:
                    _checked(httpx.Response(response.status_code, content=response.read()))
                with output.open("wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
            console.print(f"[green]saved[/green] {output} ({output.stat().st_size} bytes)")


def _follow(client: httpx.Client, video: dict, timeout: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(video["status"], total=100)
        while video["status"] in ("queued", "in_progress"):
            if time.monotonic() > deadline:
                err_console.print(f"[red]gave up waiting for {video['id']}[/red]")
                raise typer.Exit(1)
            time.sleep(0.5)
            video = _checked(client.get(f"/videos/{video['id']}"))
            label = video["status"]
            if video.get("queue_position"):
                label += f" (position {video['queue_position']})"
            progress.update(task, completed=video["progress"], description=label)
    return video


def _checked(response: httpx.Response) -> dict:  # type: ignore[type-arg]
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            message = f"{error['message']} (param: {error.get('param')}, code: {error.get('code')})"
        except (ValueError, KeyError, TypeError):
            message = response.text[:500]
        err_console.print(f"[red]HTTP {response.status_code}[/red]: {message}")
        raise typer.Exit(1)
    return response.json()


@app.command()
def probe(path: Path) -> None:
    """Print what an MP4 holds: frames, size, frame rate, codec (decoded with PyAV)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        console.print(
            f"{path}: {frames} frames, {stream.codec_context.width}x{stream.codec_context.height}, "
            f"{stream.average_rate} fps, {stream.codec_context.name} {stream.codec_context.pix_fmt}"
        )


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""  # type: ignore[attr-defined]


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
