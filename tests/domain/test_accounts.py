"""Accounts: which API keys get in (``api_keys.authenticate``), and what suspending and
reactivating an organization does to its work (``organizations``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.domain.conftest import Nudges
from tests.domain.factories import TINY, make_catalog, make_key, make_org, make_tier, make_video, reloaded
from videogen import broker
from videogen.accounts import organizations
from videogen.accounts.api_keys import authenticate, create_api_key, record_use, revoke_api_key, rotate_api_key
from videogen.accounts.tables import ApiKey, Organization, OrganizationStatus
from videogen.database import utcnow
from videogen.errors import AuthenticationError, ConflictError, InvalidRequestError, PermissionDeniedError
from videogen.videos import jobs
from videogen.videos.tables import VideoStatus


@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session)


# --- authentication ------------------------------------------------------------------------------


def test_a_live_key_authenticates_as_itself_and_its_use_is_recorded(session: Session, org: Organization) -> None:
    created = make_key(session, org)
    session.commit()
    assert created.secret.startswith("vg_live_") and created.api_key.key_hash != created.secret

    key = authenticate(session, created.secret)
    assert record_use(session, key)
    session.commit()

    assert (key.id, key.organization_id) == (created.api_key.id, org.id)
    assert reloaded(session, key).last_used_at is not None


def test_a_busy_key_records_its_use_at_most_once_a_minute(session: Session, org: Organization) -> None:
    created = make_key(session, org)
    recently = utcnow() - timedelta(seconds=30)
    session.execute(update(ApiKey).where(ApiKey.id == created.api_key.id).values(last_used_at=recently))
    session.commit()

    assert not record_use(session, authenticate(session, created.secret))
    session.commit()
    assert reloaded(session, created.api_key).last_used_at == recently

    a_while_ago = utcnow() - timedelta(minutes=2)
    session.execute(update(ApiKey).where(ApiKey.id == created.api_key.id).values(last_used_at=a_while_ago))
    session.commit()
    assert record_use(session, authenticate(session, created.secret))
    session.commit()
    assert reloaded(session, created.api_key).last_used_at > a_while_ago


@pytest.mark.parametrize("secret", ["vg_live_nope", "", "Bearer vg_live_x"])
def test_an_unknown_key_is_not_authenticated(session: Session, org: Organization, secret: str) -> None:
    make_key(session, org)
    session.commit()

    with pytest.raises(AuthenticationError) as refused:
        authenticate(session, secret)
    assert (refused.value.status_code, refused.value.code) == (401, "invalid_api_key")


def test_a_revoked_key_is_not_authenticated(session: Session, org: Organization) -> None:
    created = make_key(session, org)
    revoke_api_key(session, created.api_key.id)
    session.commit()

    with pytest.raises(AuthenticationError) as refused:
        authenticate(session, created.secret)
    assert (refused.value.status_code, refused.value.code) == (401, "api_key_revoked")


def test_an_expired_key_is_not_authenticated(session: Session, org: Organization) -> None:
    created = make_key(session, org, expires_at=utcnow() + timedelta(hours=1))
    session.commit()
    authenticate(session, created.secret)

    session.execute(
        update(ApiKey).where(ApiKey.id == created.api_key.id).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    with pytest.raises(AuthenticationError) as refused:
        authenticate(session, created.secret)
    assert (refused.value.status_code, refused.value.code) == (401, "api_key_expired")


def test_a_key_cannot_be_created_already_expired(session: Session, org: Organization) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        create_api_key(session, org, expires_at=utcnow() - timedelta(seconds=1))
    assert refused.value.param == "expires_at"


def test_a_suspended_organizations_keys_are_forbidden_until_it_is_reactivated(
    session: Session, org: Organization
) -> None:
    created = make_key(session, org)
    organizations.suspend(session, org)
    session.commit()

    with pytest.raises(PermissionDeniedError) as refused:
        authenticate(session, created.secret)
    assert (refused.value.status_code, refused.value.code) == (403, "organization_suspended")

    organizations.reactivate(session, org)
    session.commit()
    assert authenticate(session, created.secret).id == created.api_key.id


def test_a_rotated_key_keeps_working_until_it_is_revoked(session: Session, org: Organization) -> None:
    old = make_key(session, org)
    new = rotate_api_key(session, old.api_key.id)
    session.commit()

    assert new.secret != old.secret and new.api_key.organization_id == org.id
    assert authenticate(session, old.secret).id == old.api_key.id
    assert authenticate(session, new.secret).id == new.api_key.id

    revoke_api_key(session, old.api_key.id)
    session.commit()
    with pytest.raises(AuthenticationError):
        authenticate(session, old.secret)
    assert authenticate(session, new.secret).id == new.api_key.id
    with pytest.raises(InvalidRequestError):
        rotate_api_key(session, old.api_key.id)


# --- organizations -------------------------------------------------------------------------------


def test_an_organization_is_created_on_a_known_tier_under_a_unique_name(session: Session) -> None:
    tiers = make_catalog(make_tier("standard"), make_tier("enterprise"))
    org = organizations.create_organization(session, tiers, "acme", "enterprise")
    assert (org.tier, org.status) == ("enterprise", OrganizationStatus.ACTIVE)

    with pytest.raises(ConflictError):
        organizations.create_organization(session, tiers, "acme", "standard")
    with pytest.raises(InvalidRequestError) as refused:
        organizations.create_organization(session, tiers, "globex", "platinum")
    assert refused.value.param == "tier"


def test_a_suspended_organizations_queued_jobs_wait(session: Session, org: Organization) -> None:
    waiting = make_video(session, org)
    organizations.suspend(session, org)
    session.commit()

    assert jobs.claim_next(session, TINY, "gpu-1") is None
    assert reloaded(session, waiting).status == VideoStatus.QUEUED
    assert reloaded(session, org).suspended_at is not None

    organizations.reactivate(session, org)
    session.commit()
    assert reloaded(session, org).suspended_at is None
    assert jobs.claim_next(session, TINY, "gpu-1") == waiting.id


def test_reactivating_an_organization_nudges_its_queued_jobs_once_it_commits(session: Session, nudges: Nudges) -> None:
    org = make_org(session, status=OrganizationStatus.SUSPENDED)
    waiting = [make_video(session, org), make_video(session, org, model="hunyuanvideo")]
    finished = make_video(session, org, status=VideoStatus.COMPLETED)
    running = make_video(session, org, status=VideoStatus.IN_PROGRESS)
    someone_elses = make_video(session, make_org(session, status=OrganizationStatus.SUSPENDED))
    session.commit()

    organizations.reactivate(session, org)
    assert nudges.messages() == []  # not before the commit
    session.commit()

    sent = {(m.subject, m.queue) for m in nudges.messages() if m.task == broker.GENERATE_TASK}
    assert sent == {(v.id, broker.queue_for_model(v.model)) for v in waiting}
    assert all(reloaded(session, v).dispatched_at is not None for v in waiting)
    assert all(reloaded(session, v).dispatched_at is None for v in (finished, running, someone_elses))


def test_a_reactivation_rolled_back_sends_nothing(session: Session, nudges: Nudges) -> None:
    org = make_org(session, status=OrganizationStatus.SUSPENDED)
    make_video(session, org)
    session.commit()

    organizations.reactivate(session, org)
    session.rollback()
    session.commit()

    assert nudges.messages() == []
    assert reloaded(session, org).status == OrganizationStatus.SUSPENDED


def test_an_expired_key_is_rotated_only_into_a_key_with_a_lifetime_of_its_own(
    session: Session, org: Organization
) -> None:
    old = make_key(session, org)
    session.execute(update(ApiKey).where(ApiKey.id == old.api_key.id).values(expires_at=utcnow() - timedelta(1)))
    session.expire_all()
    with pytest.raises(InvalidRequestError) as refused:
        rotate_api_key(session, old.api_key.id)  # a copy of its expiry would be dead on arrival
    assert refused.value.code == "api_key_expired"
    later = utcnow() + timedelta(days=7)
    assert rotate_api_key(session, old.api_key.id, later).api_key.expires_at == later
