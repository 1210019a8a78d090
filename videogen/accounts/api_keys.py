"""API keys: created, rotated, revoked, and checked on every request.

Keys are random, shown once and stored as a SHA-256 digest. They carry 256 bits of entropy, so a
fast hash is enough (no salt or KDF needed: there is nothing to brute-force), and it lets us look
a key up by its digest with an index.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from videogen.accounts.tables import ApiKey, Organization, OrganizationStatus
from videogen.database import utcnow
from videogen.errors import AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError
from videogen.ids import new_id
from videogen.pagination import Page, paginate

KEY_PREFIX = "vg_live_"
# How much of a key we keep in clear, so people can tell their keys apart in listings.
DISPLAY_PREFIX_LEN = len(KEY_PREFIX) + 6
# The longest key lifetime, a century: an unbounded one could pass the year 9999 (an OverflowError).
MAX_KEY_LIFETIME_SECONDS = 100 * 366 * 86400


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LEN]


@dataclass(frozen=True)
class CreatedKey:
    """A new key. ``secret`` exists only here: the database keeps its hash."""

    api_key: ApiKey
    secret: str


def expiry_after(seconds: int | None) -> datetime | None:
    """When a key given a lifetime of ``seconds`` from now stops working; None (or 0): never.
    The admin API and the operator CLI's local mode both ask with a lifetime, not a date."""
    return utcnow() + timedelta(seconds=seconds) if seconds else None


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


def rotate_api_key(session: Session, key_id: str, expires_at: datetime | None = None) -> CreatedKey:
    """A new key for the same organization. The old one keeps working until it is revoked, so
    clients can roll the new key out before the old one stops.

    The new key expires when the old one does, unless ``expires_at`` says otherwise: a rotation
    replaces a secret, it does not extend a key's life (a key given for 30 days stays a 30-day key).
    """
    old = get_api_key(session, key_id)
    if old.revoked_at is not None:
        raise InvalidRequestError(f"API key '{key_id}' is revoked; create a new key instead.", param="key_id")
    if expires_at is None and old.expires_at is not None and old.expires_at <= utcnow():
        raise InvalidRequestError(
            f"API key '{key_id}' has expired; give its replacement a lifetime of its own, or create a new key.",
            param="key_id",
            code="api_key_expired",
        )
    return create_api_key(session, old.organization, name=old.name, expires_at=expires_at or old.expires_at)


def list_api_keys(
    session: Session,
    organization_id: str | None = None,
    *,
    after: str | None = None,
    limit: int = 100,
    order: Literal["asc", "desc"] = "asc",
) -> Page[ApiKey]:
    """A page of one organization's keys (every organization's: None) in creation order, after ``after``."""
    query = select(ApiKey)
    if organization_id is not None:
        query = query.where(ApiKey.organization_id == organization_id)
    return paginate(session, query, ApiKey.id, after=after, limit=limit, order=order)


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    key = get_api_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


# Built once: every request runs it, and building an ORM statement costs more than running this one.
# The key and its organization come as two entities of one row (cheaper to load than a joined
# eager load); ``authenticate`` hands the organization to ``key.organization`` as loaded.
_KEY_BY_HASH = (
    select(ApiKey, Organization)
    .join(Organization, Organization.id == ApiKey.organization_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)


def authenticate(session: Session, secret: str) -> ApiKey:
    """The live key matching ``secret``, with its organization (one statement); raises for anything else.

    401 for keys that are unknown, revoked or expired; 403 for a suspended organization (the key
    is fine, the account is not).
    """
    row = session.execute(_KEY_BY_HASH, {"key_hash": hash_api_key(secret)}).one_or_none()
    if row is None:
        raise AuthenticationError("Incorrect API key provided.")
    key, organization = row.tuple()
    set_committed_value(key, "organization", organization)
    if key.revoked_at is not None:
        raise AuthenticationError("This API key has been revoked.", code="api_key_revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise AuthenticationError("This API key has expired.", code="api_key_expired")
    if organization.status != OrganizationStatus.ACTIVE:
        raise PermissionDeniedError(
            "Your organization is suspended. Contact the operator of this service.", code="organization_suspended"
        )
    return key


# How stale ``last_used_at`` may get: a busy client must not turn every request into a write.
LAST_USED_RESOLUTION_SECONDS = 60


def record_use(session: Session, key: ApiKey) -> bool:
    """Note that ``key`` was used now, if its ``last_used_at`` is older than a minute; True if it
    wrote (the caller commits)."""
    now = utcnow()
    if key.last_used_at is not None and (now - key.last_used_at).total_seconds() <= LAST_USED_RESOLUTION_SECONDS:
        return False
    session.execute(
        update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now).execution_options(synchronize_session=False)
    )
    key.last_used_at = now
    return True
