"""Small builders for the rows and objects the domain tests start from.

They write rows the way the domain would leave them (a queued video as admission inserts it, an
in-progress one as a claim leaves it), so a test can start in any state without walking a job
through every step first. They add and flush; the test's session commits if it needs to.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cryptography.fernet import Fernet
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from model import ModelRegistry
from videogen.accounts.api_keys import CreatedKey, create_api_key
from videogen.accounts.standing import start_of_utc_day
from videogen.accounts.tables import Organization, OrganizationStatus
from videogen.accounts.tiers import Tier, TierCatalog
from videogen.database import Base, utcnow
from videogen.outbound.url_policy import WebhookURLPolicy
from videogen.secret_box import SecretBox
from videogen.videos.parameters import VideoParameters, resolve_video_parameters
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks.endpoints import CreatedEndpoint, create_endpoint
from videogen.webhooks.events import EVENT_TYPES

T = TypeVar("T")

TINY = "hunyuanvideo-tiny"
# A public address (documentation range would be refused as reserved): what every webhook host
# "resolves" to in these tests, so no DNS is needed and the SSRF rules still run.
PUBLIC_ADDRESS = "93.184.216.34"


# --- configuration -------------------------------------------------------------------------------


def make_tier(name: str = "standard", **overrides: Any) -> Tier:
    """A tier generous enough to stay out of the way, unless a test tightens one limit."""
    values: dict[str, Any] = {
        "name": name,
        "models": ["*"],
        "max_seconds": 10,
        "max_size": "256x256",
        "max_steps": 200,
        "requests_per_minute": 1000,
        "max_concurrent_jobs": 100,
        "video_seconds_per_day": 100_000,
        "priority": 5,
        "retention_hours": 24,
    }
    values.update(overrides)
    return Tier(**values)


def make_catalog(*tiers: Tier) -> TierCatalog:
    return TierCatalog({t.name: t for t in tiers or (make_tier(),)})


def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_ADDRESS]


def make_policy(allow_http: bool = False) -> WebhookURLPolicy:
    """The production URL policy, with a resolver that answers a public address for every name."""
    return WebhookURLPolicy(allow_http=allow_http, allowed_hosts=[], resolver=public_resolver)


def make_box() -> SecretBox:
    return SecretBox([Fernet.generate_key().decode()])


def tiny_params(**overrides: Any) -> VideoParameters:
    """A request for the built-in tiny model, resolved as the submitter would."""
    spec = ModelRegistry.from_file(None).get(TINY)
    arguments: dict[str, Any] = {"prompt": "a cat", "seconds": "1", "num_inference_steps": 1, "seed": 1}
    arguments.update(overrides)
    return resolve_video_parameters(spec, **arguments)


# --- rows ----------------------------------------------------------------------------------------


def make_org(
    session: Session,
    tier: str = "standard",
    *,
    name: str | None = None,
    status: OrganizationStatus = OrganizationStatus.ACTIVE,
) -> Organization:
    org = Organization(
        id=f"org_{secrets.token_hex(8)}",
        name=name or f"org-{secrets.token_hex(4)}",
        tier=tier,
        status=status,
        suspended_at=utcnow() if status == OrganizationStatus.SUSPENDED else None,
    )
    session.add(org)
    session.flush()
    return org


def make_key(session: Session, org: Organization, expires_at: datetime | None = None) -> CreatedKey:
    return create_api_key(session, org, name="test", expires_at=expires_at)


def video_id_at(created_at: datetime) -> str:
    """An id like ``videogen.ids.new_id`` makes, for a video created at ``created_at`` (ids are
    time-ordered: the queue's "older first" is "lower id first")."""
    millis = int(created_at.timestamp() * 1000)
    return f"video_{millis:012x}{secrets.token_hex(10)}"


def make_video(
    session: Session,
    org: Organization,
    *,
    status: VideoStatus = VideoStatus.QUEUED,
    priority: int = 5,
    model: str = TINY,
    created_at: datetime | None = None,
    seconds: float = 1.0,
    attempts: int | None = None,
    heartbeat_at: datetime | None = None,
    dispatched_at: datetime | None = None,
    deleted_at: datetime | None = None,
    webhook_url: str | None = None,
) -> Video:
    """A video row in ``status``; in_progress and later states look as if claimed once."""
    created_at = created_at or utcnow()
    started = status != VideoStatus.QUEUED
    finished = status.is_terminal
    video = Video(
        id=video_id_at(created_at),
        organization_id=org.id,
        status=status,
        model=model,
        prompt="a cat",
        seconds=f"{seconds:g}",
        duration_seconds=seconds,
        width=128,
        height=128,
        fps=8,
        num_frames=9,
        num_inference_steps=1,
        guidance_scale=6.0,
        seed=1,
        priority=priority,
        retention_hours=24,
        webhook_url=webhook_url,
        created_at=created_at,
        dispatched_at=dispatched_at,
        started_at=created_at + timedelta(seconds=1) if started else None,
        heartbeat_at=heartbeat_at or (utcnow() if started else None),
        completed_at=utcnow() if finished else None,
        attempts=(1 if started else 0) if attempts is None else attempts,
        worker="worker-0" if started else None,
        deleted_at=deleted_at,
    )
    session.add(video)
    session.flush()
    _count_in_standing(session, org, video)
    return video


def _count_in_standing(session: Session, org: Organization, video: Video) -> None:
    """What admission and the job's transitions would have counted for a video made in this state
    (``videogen.accounts.standing``)."""
    today = start_of_utc_day(utcnow())
    billed_today = video.status.is_billed and video.created_at >= today
    counted_day = Organization.usage_day == today
    session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(
            active_jobs=Organization.active_jobs + (1 if video.status.is_active else 0),
            usage_day=today,
            usage_day_seconds=case((counted_day, Organization.usage_day_seconds), else_=0.0)
            + (video.duration_seconds if billed_today else 0.0),
        )
        .execution_options(synchronize_session=False)
    )


def make_endpoint(
    session: Session,
    org: Organization,
    *,
    event_types: Sequence[str] | None = EVENT_TYPES,
    url: str | None = None,
    box: SecretBox | None = None,
) -> CreatedEndpoint:
    """A webhook endpoint made the way a client makes one: every event type unless told (None is
    the client naming none: the end of a job only)."""
    return create_endpoint(
        session,
        box or make_box(),
        make_policy(),
        org.id,
        url=url or f"https://hooks-{secrets.token_hex(3)}.example.com/videogen",
        event_types=None if event_types is None else list(event_types),
        name="test",
    )


# --- racing ------------------------------------------------------------------------------------


def race(contenders: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    """Run ``attempt(i)`` for ``contenders`` threads released at the same moment, as requests of
    API replicas or workers would arrive; each result, or the exception it raised, in order."""
    start = threading.Barrier(contenders)

    def run(i: int) -> T | Exception:
        start.wait()
        try:
            return attempt(i)
        except Exception as exc:  # noqa: BLE001 - the caller checks which contenders lost, and how
            return exc

    with ThreadPoolExecutor(contenders) as pool:
        return list(pool.map(run, range(contenders)))


# --- reading back --------------------------------------------------------------------------------


def reloaded(session: Session, row: Any) -> Any:
    """``row`` as the database has it now (domain updates bypass the session's identity map)."""
    session.refresh(row)
    return row


def count(session: Session, table: type[Base], *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)
