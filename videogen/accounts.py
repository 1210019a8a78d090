"""Organizations, their tiers and status, and their API keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from videogen.ids import new_id
from videogen.orm import ApiKey, Organization, OrganizationStatus, Video, VideoStatus, utcnow
from videogen.security import display_prefix, generate_api_key, hash_api_key
from videogen.tiers import TierCatalog


@dataclass(frozen=True)
class CreatedKey:
    """A new key. ``secret`` exists only here: the database keeps its hash."""

    api_key: ApiKey
    secret: str


def _check_tier(tiers: TierCatalog, tier: str) -> None:
    if tier not in tiers:
        raise InvalidRequestError(f"Unknown tier '{tier}'. Tiers: {', '.join(tiers.names())}.", param="tier")


def create_organization(session: Session, tiers: TierCatalog, name: str, tier: str) -> Organization:
    _check_tier(tiers, tier)
    if session.scalar(select(Organization).where(Organization.name == name)) is not None:
        raise ConflictError(f"An organization named '{name}' already exists.", param="name")
    org = Organization(id=new_id("org"), name=name, tier=tier, status=OrganizationStatus.ACTIVE.value)
    session.add(org)
    session.flush()
    return org


def get_or_create_organization(session: Session, tiers: TierCatalog, name: str, tier: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    return org if org is not None else create_organization(session, tiers, name, tier)


def find_organization(session: Session, id_or_name: str) -> Organization:
    org = session.get(Organization, id_or_name) or session.scalar(
        select(Organization).where(Organization.name == id_or_name)
    )
    if org is None:
        raise NotFoundError(f"No organization '{id_or_name}'.", param="organization")
    return org


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.created_at, Organization.id)))


def set_tier(session: Session, tiers: TierCatalog, org: Organization, tier: str) -> Organization:
    _check_tier(tiers, tier)
    org.tier = tier
    session.flush()
    return org


def suspend(session: Session, org: Organization) -> Organization:
    """Keys of a suspended organization get 403 from the next request on; its queued jobs wait."""
    org.status = OrganizationStatus.SUSPENDED.value
    org.suspended_at = utcnow()
    session.flush()
    return org


def reactivate(session: Session, org: Organization, dispatch: Callable[[str, str], object]) -> Organization:
    """Lift a suspension and nudge workers for the jobs that waited."""
    org.status = OrganizationStatus.ACTIVE.value
    org.suspended_at = None
    session.flush()
    session.commit()
    waiting = session.execute(
        select(Video.id, Video.model).where(Video.organization_id == org.id, Video.status == VideoStatus.QUEUED.value)
    ).all()
    for video_id, model in waiting:
        dispatch(video_id, model)
    return org


def create_api_key(
    session: Session, organization: Organization, name: str = "", expires_at: datetime | None = None
) -> CreatedKey:
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequestError("expires_at must be in the future.", param="expires_at")
    secret = generate_api_key()
    key = ApiKey(
        id=new_id("key"),
        organization_id=organization.id,
        name=name,
        prefix=display_prefix(secret),
        key_hash=hash_api_key(secret),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return CreatedKey(api_key=key, secret=secret)


def get_api_key(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"No API key '{key_id}'.", param="key_id")
    return key


def rotate_api_key(session: Session, key_id: str) -> CreatedKey:
    """A new key for the same organization. The old one keeps working until it is revoked, so
    clients can roll the new key out before the old one stops."""
    old = get_api_key(session, key_id)
    if old.revoked_at is not None:
        raise InvalidRequestError(f"API key '{key_id}' is revoked; create a new key instead.", param="key_id")
    return create_api_key(session, old.organization, name=old.name, expires_at=None)


def list_api_keys(session: Session, organization_name: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).join(Organization).order_by(ApiKey.created_at, ApiKey.id)
    if organization_name:
        query = query.where((Organization.name == organization_name) | (Organization.id == organization_name))
    return list(session.scalars(query))


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    key = get_api_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate(session: Session, secret: str) -> ApiKey:
    """The live key matching ``secret``; raises for anything else.

    401 for keys that are unknown, revoked or expired; 403 for a suspended organization (the key
    is fine, the account is not).
    """
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret)))
    if key is None:
        raise AuthenticationError("Incorrect API key provided.")
    if key.revoked_at is not None:
        raise AuthenticationError("This API key has been revoked.", code="api_key_revoked")
    now = utcnow()
    if key.expires_at is not None and key.expires_at <= now:
        raise AuthenticationError("This API key has expired.", code="api_key_expired")
    if key.organization.status != OrganizationStatus.ACTIVE:
        raise PermissionDeniedError(
            "Your organization is suspended. Contact the operator of this service.", code="organization_suspended"
        )
    # Throttled so that a busy client does not turn every request into a write.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return key
