"""Webhook deliveries once recorded: the retry schedule, redelivery, the relay after the commit,
the sweep that re-sends lost nudges, and the purge of the delivery log."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.domain.conftest import Nudges
from tests.domain.factories import count, make_endpoint, make_org, make_policy, make_video, reloaded
from videogen import broker
from videogen.accounts.tables import Organization
from videogen.database import utcnow
from videogen.errors import InvalidRequestError
from videogen.videos import jobs
from videogen.webhooks.deliveries import redeliver
from videogen.webhooks.endpoints import delete_endpoint, update_endpoint
from videogen.webhooks.outbox import purge_delivery_log, sweep
from videogen.webhooks.sender import MAX_RETRY_AFTER, retry_delay
from videogen.webhooks.tables import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)

PENDING, SUCCEEDED, FAILED = WebhookDeliveryStatus
SCHEDULE = [5.0, 300.0, 1800.0]
REDISPATCH_AFTER = timedelta(minutes=15)


# --- the retry schedule --------------------------------------------------------------------------


@pytest.mark.parametrize("series_attempt", [1, 2, 3])
def test_each_retry_waits_its_scheduled_delay_within_ten_percent(series_attempt: int) -> None:
    scheduled = SCHEDULE[series_attempt - 1]
    delays = [retry_delay(SCHEDULE, series_attempt, None, random.Random(seed)) for seed in range(200)]

    assert all(d is not None and 0.9 * scheduled <= d <= 1.1 * scheduled for d in delays)
    assert min(d for d in delays if d) < 0.95 * scheduled and max(d for d in delays if d) > 1.05 * scheduled


def test_the_jitter_comes_from_the_random_source_it_is_given() -> None:
    assert retry_delay(SCHEDULE, 2, None, random.Random(7)) == retry_delay(SCHEDULE, 2, None, random.Random(7))
    expected = 300.0 * (1 + random.Random(7).uniform(-0.1, 0.1))
    assert retry_delay(SCHEDULE, 2, None, random.Random(7)) == pytest.approx(expected)


def test_a_longer_retry_after_from_the_receiver_wins() -> None:
    assert retry_delay(SCHEDULE, 1, 1000.0, random.Random(1)) == 1000.0


def test_a_shorter_retry_after_does_not_shorten_the_schedule() -> None:
    delay = retry_delay(SCHEDULE, 2, 10.0, random.Random(1))
    assert delay is not None and delay >= 270.0


def test_a_retry_after_beyond_a_day_is_capped_at_a_day() -> None:
    assert MAX_RETRY_AFTER == timedelta(hours=24)
    assert retry_delay(SCHEDULE, 1, 3 * 86400.0, random.Random(1)) == 86400.0


@pytest.mark.parametrize("retry_after", [None, 60.0])
def test_there_is_no_retry_once_the_schedule_is_used_up(retry_after: float | None) -> None:
    assert retry_delay(SCHEDULE, len(SCHEDULE) + 1, retry_after, random.Random(1)) is None
    assert retry_delay([], 1, retry_after, random.Random(1)) is None


# --- deliveries, made by a job that ended --------------------------------------------------------


@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session)


@pytest.fixture
def endpoint(session: Session, org: Organization) -> WebhookEndpoint:
    endpoint = make_endpoint(session, org, event_types=["video.cancelled"]).endpoint
    session.commit()
    return endpoint


def ended_job_delivery(session: Session, org: Organization, webhook_url: str | None = None) -> WebhookDelivery:
    """The one delivery recorded when a job of ``org`` is cancelled."""
    video = make_video(session, org, webhook_url=webhook_url)
    assert jobs.cancel(session, video.id)
    session.commit()
    [delivery] = session.scalars(
        select(WebhookDelivery).join(WebhookEvent).where(WebhookEvent.video_id == video.id)
    ).all()
    return delivery


def set_delivery(session: Session, delivery: WebhookDelivery, **values: Any) -> WebhookDelivery:
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))
    session.commit()
    return reloaded(session, delivery)  # type: ignore[no-any-return]


def gave_up(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """The delivery after its whole retry schedule failed."""
    now = utcnow()
    return set_delivery(
        session,
        delivery,
        status=FAILED,
        attempts=7,
        series_attempts=7,
        next_attempt_at=None,
        completed_at=now,
        dispatched_at=now,
        last_status_code=503,
        last_error="HTTP 503",
    )


# --- redelivery ----------------------------------------------------------------------------------


def test_a_failed_delivery_is_redelivered_with_a_fresh_schedule_under_the_same_id(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = gave_up(session, ended_job_delivery(session, org))
    before = utcnow()

    redelivered = redeliver(session, delivery)
    session.commit()

    redelivered = reloaded(session, redelivered)
    assert redelivered.id == delivery.id
    assert (redelivered.status, redelivered.series_attempts, redelivered.attempts) == (PENDING, 0, 7)
    assert redelivered.next_attempt_at is not None and redelivered.next_attempt_at >= before
    assert (redelivered.completed_at, redelivered.lease_expires_at, redelivered.dispatched_at) == (None, None, None)


def test_a_succeeded_delivery_can_be_redelivered_too(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = set_delivery(session, ended_job_delivery(session, org), status=SUCCEEDED, completed_at=utcnow())

    assert redeliver(session, delivery).status == PENDING


def test_a_delivery_to_a_disabled_endpoint_is_not_redelivered(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = gave_up(session, ended_job_delivery(session, org))
    update_endpoint(session, make_policy(), endpoint, enabled=False)
    session.commit()

    with pytest.raises(InvalidRequestError) as refused:
        redeliver(session, delivery)
    assert refused.value.code == "webhook_endpoint_disabled"
    session.rollback()
    assert reloaded(session, delivery).status == FAILED


def test_a_delivery_to_a_deleted_endpoint_is_not_redelivered(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = ended_job_delivery(session, org)
    delete_endpoint(session, endpoint)
    session.commit()
    assert reloaded(session, delivery).status == FAILED  # its pending delivery ended with it

    with pytest.raises(InvalidRequestError) as refused:
        redeliver(session, delivery)
    assert refused.value.code == "webhook_endpoint_deleted"
    session.rollback()
    assert reloaded(session, delivery).status == FAILED


def test_a_delivery_to_a_videos_own_webhook_url_can_be_redelivered(session: Session, org: Organization) -> None:
    delivery = gave_up(session, ended_job_delivery(session, org, webhook_url="https://client.example.com/h"))
    assert delivery.endpoint_id is None

    assert redeliver(session, delivery).status == PENDING


def test_a_redelivery_is_relayed_to_the_webhook_workers_once_it_commits(
    session: Session, org: Organization, endpoint: WebhookEndpoint, nudges: Nudges
) -> None:
    delivery = gave_up(session, ended_job_delivery(session, org))
    assert nudges.subjects(broker.DELIVER_WEBHOOK_TASK) == [delivery.id]  # when the job ended
    gave_up_at = delivery.dispatched_at
    assert gave_up_at is not None

    redeliver(session, delivery)
    assert len(nudges.messages()) == 1
    session.commit()

    assert nudges.subjects(broker.DELIVER_WEBHOOK_TASK) == [delivery.id, delivery.id]
    assert {m.queue for m in nudges.messages()} == {broker.WEBHOOK_QUEUE}
    dispatched_at = reloaded(session, delivery).dispatched_at
    assert dispatched_at is not None and dispatched_at > gave_up_at


# --- the relay of a transition's deliveries ------------------------------------------------------


def test_the_deliveries_of_a_transition_are_relayed_after_its_commit(
    session: Session, org: Organization, nudges: Nudges
) -> None:
    endpoints = [make_endpoint(session, org).endpoint for _ in range(2)]
    video = make_video(session, org)
    session.commit()

    assert jobs.cancel(session, video.id)
    assert nudges.messages() == []
    session.commit()

    deliveries = session.scalars(select(WebhookDelivery)).all()
    assert sorted(d.endpoint_id or "" for d in deliveries) == sorted(e.id for e in endpoints)
    assert nudges.subjects(broker.DELIVER_WEBHOOK_TASK) == sorted(d.id for d in deliveries)
    assert all(reloaded(session, d).dispatched_at is not None for d in deliveries)


def test_the_deliveries_of_a_rolled_back_transition_are_never_relayed(
    session: Session, org: Organization, endpoint: WebhookEndpoint, nudges: Nudges
) -> None:
    video = make_video(session, org)
    session.commit()

    assert jobs.cancel(session, video.id)
    session.rollback()
    session.commit()

    assert nudges.messages() == []
    assert count(session, WebhookDelivery) == 0


# --- the sweep -----------------------------------------------------------------------------------


class Relay:
    """The sweep's ``dispatch``: records each nudge, and says whether it went."""

    def __init__(self, succeeds: bool = True) -> None:
        self.sent: list[str] = []
        self.succeeds = succeeds

    def __call__(self, delivery_id: str) -> bool:
        self.sent.append(delivery_id)
        return self.succeeds


def test_the_sweep_resends_due_deliveries_whose_nudge_never_went_out(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = ended_job_delivery(session, org)
    now = utcnow() + timedelta(seconds=1)
    relay = Relay()

    assert sweep(session, relay, REDISPATCH_AFTER, now=now) == [delivery.id]

    assert relay.sent == [delivery.id]
    assert reloaded(session, delivery).dispatched_at == now


@pytest.mark.parametrize(
    ("situation", "values", "resent"),
    [
        ("not due yet", {"next_attempt_at": timedelta(minutes=5)}, False),
        ("held by a sender", {"lease_expires_at": timedelta(seconds=30)}, False),
        ("held by a sender that died", {"lease_expires_at": -timedelta(seconds=1)}, True),
        # As soon as the lease of a sender that died runs out, not REDISPATCH_AFTER after its nudge:
        (
            "held by a sender that died after a recent nudge",
            {"dispatched_at": -timedelta(seconds=60), "lease_expires_at": -timedelta(seconds=1)},
            True,
        ),
        (
            "nudged again since its sender died",
            {"lease_expires_at": -timedelta(seconds=10), "dispatched_at": -timedelta(seconds=5)},
            False,
        ),
        ("nudged recently", {"dispatched_at": -REDISPATCH_AFTER + timedelta(seconds=30)}, False),
        ("nudged long ago", {"dispatched_at": -REDISPATCH_AFTER - timedelta(seconds=1)}, True),
        ("succeeded", {"status": SUCCEEDED}, False),
        ("failed", {"status": FAILED}, False),
    ],
)
def test_the_sweep_resends_only_what_is_due_unleased_and_not_recently_nudged(
    session: Session,
    org: Organization,
    endpoint: WebhookEndpoint,
    situation: str,
    values: dict[str, Any],
    resent: bool,
) -> None:
    now = utcnow() + timedelta(seconds=1)
    delivery = ended_job_delivery(session, org)
    set_delivery(session, delivery, **{k: now + v if isinstance(v, timedelta) else v for k, v in values.items()})
    relay = Relay()

    sent = sweep(session, relay, REDISPATCH_AFTER, now=now)

    assert sent == relay.sent == ([delivery.id] if resent else [])


def test_a_nudge_the_broker_refused_is_not_recorded_by_the_sweep(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    delivery = ended_job_delivery(session, org)
    broker_down = Relay(succeeds=False)
    now = utcnow() + timedelta(seconds=1)

    assert sweep(session, broker_down, REDISPATCH_AFTER, now=now) == []
    assert broker_down.sent == [delivery.id]
    assert reloaded(session, delivery).dispatched_at is None


# --- the purge of the delivery log ---------------------------------------------------------------


def age_event(session: Session, delivery: WebhookDelivery, age: timedelta) -> None:
    session.execute(update(WebhookEvent).where(WebhookEvent.id == delivery.event_id).values(created_at=utcnow() - age))
    session.commit()


def test_the_purge_deletes_old_finished_events_with_their_deliveries_and_attempts(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    old = set_delivery(session, ended_job_delivery(session, org), status=SUCCEEDED)
    session.add(WebhookAttempt(delivery_id=old.id, status_code=200, latency_ms=5))
    session.commit()
    age_event(session, old, timedelta(days=31))
    recent = set_delivery(session, ended_job_delivery(session, org), status=FAILED)
    age_event(session, recent, timedelta(days=29))

    assert purge_delivery_log(session, timedelta(days=30)) == 1
    session.commit()

    assert session.scalars(select(WebhookEvent.id)).all() == [recent.event_id]
    assert session.scalars(select(WebhookDelivery.id)).all() == [recent.id]
    assert count(session, WebhookAttempt) == 0


def test_the_purge_keeps_old_events_that_still_have_a_pending_delivery(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    make_endpoint(session, org, event_types=["video.cancelled"])
    session.commit()
    video = make_video(session, org)
    assert jobs.cancel(session, video.id)
    session.commit()
    first, second = session.scalars(select(WebhookDelivery)).all()
    set_delivery(session, first, status=SUCCEEDED)
    age_event(session, second, timedelta(days=31))

    assert purge_delivery_log(session, timedelta(days=30)) == 0
    session.commit()

    assert count(session, WebhookEvent) == 1 and count(session, WebhookDelivery) == 2


def test_the_purge_measures_age_from_the_time_it_is_given(
    session: Session, org: Organization, endpoint: WebhookEndpoint
) -> None:
    set_delivery(session, ended_job_delivery(session, org), status=SUCCEEDED)

    assert purge_delivery_log(session, timedelta(days=30)) == 0
    assert purge_delivery_log(session, timedelta(days=30), now=utcnow() + timedelta(days=31)) == 1
