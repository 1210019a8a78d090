"""The real API application in this process, for tests that send many requests quickly.

``api.app.create_app`` on a temporary data dir, the way ``videogen dev`` runs it: a database
migrated by Alembic (SQLite in the data dir, or a PostgreSQL one such as
``tests.helpers.scratch_database`` makes), local storage, the embedded filesystem broker, no
reconciler loop. Its one organization has a tier with
limits out of the way and an API key made by the domain, as ``videogen keys create`` makes one.
No worker runs: jobs stay queued.

The one substitution is the outside world: host names resolve to nothing (``offline_resolver``),
so a webhook or image URL a test names is refused as unresolvable instead of reaching the network.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from api.app import create_app
from cli.processes import upgrade_database
from videogen import broker
from videogen.accounts import api_keys, organizations
from videogen.accounts.tiers import load_tiers
from videogen.database import get_engine, session_scope
from videogen.outbound.url_policy import WebhookURLPolicy
from videogen.settings import Settings

ADMIN_TOKEN = "in-process-admin-token"
TIER = "unhindered"
SMALL_QUOTA_TIER = "one-second-a-day"


def _tier(name: str, video_seconds_per_day: float) -> str:
    # Every other limit far out of the way of tests about something else.
    return f"""
[tiers.{name}]
models = ["*"]
max_seconds = 60
max_size = "1280x720"
max_steps = 100
requests_per_minute = 1000000
max_concurrent_jobs = 1000000
video_seconds_per_day = {video_seconds_per_day}
priority = 5
retention_hours = 24
"""


TIERS_TOML = _tier(TIER, 1_000_000_000) + _tier(SMALL_QUOTA_TIER, 1)
MODELS = ["hunyuanvideo-tiny", "hunyuanvideo-i2v-tiny"]


def offline_resolver(host: str, port: int) -> list[str]:
    """No name resolves: what a client names is never contacted."""
    return []


def new_organization_key(settings: Settings, tier: str) -> str:
    """The key of a new organization on ``tier``, made as ``videogen keys create`` makes one."""
    with session_scope(settings.database_url) as session:
        org = organizations.create_organization(
            session, load_tiers(settings.tiers_file), f"org-{secrets.token_hex(4)}", tier
        )
        return api_keys.create_api_key(session, org, "in-process", None).secret


@dataclass(frozen=True)
class InProcessApi:
    app: FastAPI
    settings: Settings
    api_key: str

    def new_key(self, tier: str = TIER) -> str:
        """The key of a new organization on ``tier``."""
        return new_organization_key(self.settings, tier)

    def client(self, **headers: str) -> TestClient:
        """A client of the app, authenticated with the organization's key unless ``headers`` say
        otherwise; server errors come back as responses (500), never as exceptions."""
        client = TestClient(self.app, raise_server_exceptions=False)
        client.headers.update({"Authorization": f"Bearer {self.api_key}", **headers})
        return client


@contextmanager
def in_process_api(data_dir: Path, database_url: str | None = None, **overrides: Any) -> Iterator[InProcessApi]:
    """The app on ``data_dir`` (and ``database_url``, SQLite in ``data_dir`` if None), migrated,
    with one organization and key; nudges go to ``data_dir/broker`` while it is in use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tiers_file = data_dir / "tiers.toml"
    tiers_file.write_text(TIERS_TOML)
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=database_url or "",
        broker_url="",
        rate_limit_url="memory://",
        storage_backend="local",
        reconcile_interval_seconds=0,
        admin_token=ADMIN_TOKEN,
        models=MODELS,
        default_model=MODELS[0],
        default_image_model=MODELS[1],
        models_file=None,
        tiers_file=tiers_file,
        default_tier=TIER,
        access_requests_per_hour=1_000_000,
        **overrides,
    )
    upgrade_database(settings)
    previous_nudges = broker.enabled_settings()
    app = create_app(settings)
    offline = WebhookURLPolicy(settings.webhook_allow_http, settings.webhook_allowed_hosts, resolver=offline_resolver)
    app.state.webhook_policy = offline
    app.state.submitter.url_policy = offline
    try:
        yield InProcessApi(app, settings, new_organization_key(settings, TIER))
    finally:
        broker.enable(previous_nudges)
        get_engine(settings.database_url).dispose()
