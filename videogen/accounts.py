"""Organizations and their API keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videogen.errors import AuthenticationError, NotFoundError
from videogen.ids import new_id
from videogen.orm import ApiKey, Organization, utcnow
from videogen.security import display_prefix, generate_api_key, hash_api_key


@dataclass(frozen=True)
class CreatedKey:
    """A new key. ``secret`` exists only here: the database keeps its hash."""

    api_key: ApiKey
    secret: str


def get_or_create_organization(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(id=new_id("org"), name=name)
        session.add(org)
        session.flush()
    return org


def create_api_key(session: Session, organization: Organization, name: str = "") -> CreatedKey:
    secret = generate_api_key()
    key = ApiKey(
        id=new_id("key"),
        organization_id=organization.id,
        name=name,
        prefix=display_prefix(secret),
        key_hash=hash_api_key(secret),
    )
    session.add(key)
    session.flush()
    return CreatedKey(api_key=key, secret=secret)


def list_api_keys(session: Session, organization_name: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).join(Organization).order_by(ApiKey.created_at)
    if organization_name:
        query = query.where(Organization.name == organization_name)
    return list(session.scalars(query))


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"no API key {key_id!r}", param="key_id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate(session: Session, secret: str) -> ApiKey:
    """The live key matching ``secret``; raises ``AuthenticationError`` for anything else."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret)))
    if key is None:
        raise AuthenticationError("Incorrect API key provided.")
    if key.revoked_at is not None:
        raise AuthenticationError("This API key has been revoked.", code="api_key_revoked")
    now = utcnow()
    # Throttled so that a busy client does not turn every request into a write.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return key
