"""Organizations: created on a tier, moved between tiers, suspended and reactivated."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization, OrganizationStatus
from videogen.accounts.tiers import TierCatalog
from videogen.database import utcnow
from videogen.errors import ConflictError, InvalidRequestError, NotFoundError
from videogen.ids import new_id
from videogen.pagination import Page, paginate
from videogen.videos.dispatch import dispatch_after_commit
from videogen.videos.tables import Video, VideoStatus


def _check_tier(tiers: TierCatalog, tier: str) -> None:
    if tier not in tiers:
        raise InvalidRequestError(f"Unknown tier '{tier}'. Tiers: {', '.join(tiers.names())}.", param="tier")


def create_organization(session: Session, tiers: TierCatalog, name: str, tier: str) -> Organization:
    _check_tier(tiers, tier)
    if session.scalar(select(Organization).where(Organization.name == name)) is not None:
        raise ConflictError(f"An organization named '{name}' already exists.", param="name")
    org = Organization(id=new_id("org"), name=name, tier=tier, status=OrganizationStatus.ACTIVE)
    session.add(org)
    session.flush()
    return org


def get_or_create_organization(session: Session, tiers: TierCatalog, id_or_name: str, tier: str) -> Organization:
    """The organization with this id or name, or a new one of that name on ``tier``."""
    org = _lookup(session, id_or_name)
    return org if org is not None else create_organization(session, tiers, id_or_name, tier)


def _lookup(session: Session, id_or_name: str) -> Organization | None:
    return session.get(Organization, id_or_name) or session.scalar(
        select(Organization).where(Organization.name == id_or_name)
    )


def find_organization(session: Session, id_or_name: str) -> Organization:
    org = _lookup(session, id_or_name)
    if org is None:
        raise NotFoundError(f"No organization '{id_or_name}'.", param="organization")
    return org


def list_organizations(
    session: Session, *, after: str | None = None, limit: int = 100, order: Literal["asc", "desc"] = "asc"
) -> Page[Organization]:
    """A page of organizations in creation order (ids sort by creation), after the cursor ``after``."""
    return paginate(session, select(Organization), Organization.id, after=after, limit=limit, order=order)


def set_tier(session: Session, tiers: TierCatalog, org: Organization, tier: str) -> Organization:
    _check_tier(tiers, tier)
    org.tier = tier
    session.flush()
    return org


def update_organization(
    session: Session,
    tiers: TierCatalog,
    org: Organization,
    *,
    tier: str | None = None,
    status: OrganizationStatus | None = None,
) -> Organization:
    """Change what an operator may change: the tier, and whether the organization is suspended."""
    if tier is not None:
        set_tier(session, tiers, org, tier)
    if status == OrganizationStatus.SUSPENDED and org.status != OrganizationStatus.SUSPENDED:
        suspend(session, org)
    elif status == OrganizationStatus.ACTIVE and org.status != OrganizationStatus.ACTIVE:
        reactivate(session, org)
    return org


def suspend(session: Session, org: Organization) -> Organization:
    """Keys of a suspended organization get 403 from the next request on; its queued jobs wait."""
    org.status = OrganizationStatus.SUSPENDED
    org.suspended_at = utcnow()
    session.flush()
    return org


def reactivate(session: Session, org: Organization) -> Organization:
    """Lift a suspension; the jobs that waited are sent to the workers once this commits."""
    org.status = OrganizationStatus.ACTIVE
    org.suspended_at = None
    session.flush()
    waiting = session.execute(
        select(Video.id, Video.model).where(Video.organization_id == org.id, Video.status == VideoStatus.QUEUED)
    ).all()
    dispatch_after_commit(session, [(video_id, model) for video_id, model in waiting])
    return org
