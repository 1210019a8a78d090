"""The reconciler (``videogen.videos.reconciler.reconcile``): jobs the transport lost get back on
track, and nothing else is touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.domain.factories import TINY, count, make_endpoint, make_org, make_video, reloaded
from videogen.accounts.tables import Organization
from videogen.database import utcnow
from videogen.videos.reconciler import FIRST_SEND_GRACE, ReconcileReport, reconcile
from videogen.videos.tables import VideoStatus
from videogen.webhooks.tables import WebhookEvent

STALE_AFTER = timedelta(minutes=10)
REDISPATCH_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 3
LONG_AGO = timedelta(hours=1)


class Dispatcher:
    """The ``dispatch`` a reconciler is given: records each nudge, and says whether it went."""

    def __init__(self, succeeds: bool = True) -> None:
        self.sent: list[tuple[str, str]] = []
        self.succeeds = succeeds

    def __call__(self, video_id: str, model: str) -> bool:
        self.sent.append((video_id, model))
        return self.succeeds

    @property
    def video_ids(self) -> list[str]:
        return sorted(video_id for video_id, _ in self.sent)


Reconcile = Callable[..., ReconcileReport]


@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session)


@pytest.fixture
def run(session: Session) -> Reconcile:
    def run(dispatch: Callable[[str, str], bool], now: datetime | None = None) -> ReconcileReport:
        return reconcile(
            session,
            dispatch=dispatch,
            redispatch_after=REDISPATCH_AFTER,
            stale_after=STALE_AFTER,
            max_attempts=MAX_ATTEMPTS,
            now=now,
        )

    return run


# --- lost workers --------------------------------------------------------------------------------


def test_a_job_whose_worker_stopped_heartbeating_is_requeued_and_nudged(
    session: Session, org: Organization, run: Reconcile
) -> None:
    now = utcnow()
    video = make_video(
        session,
        org,
        status=VideoStatus.IN_PROGRESS,
        attempts=1,
        created_at=now - LONG_AGO,
        heartbeat_at=now - STALE_AFTER - timedelta(seconds=1),
        dispatched_at=now - LONG_AGO,
    )
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch, now=now)

    assert report.requeued == [video.id] and report.failed == []
    video = reloaded(session, video)
    assert (video.status, video.worker, video.attempts) == (VideoStatus.QUEUED, None, 1)
    assert dispatch.sent == [(video.id, TINY)]  # requeued, then sent again in the same round
    assert report.redispatched == [video.id] and video.dispatched_at is not None


def test_a_job_that_used_up_its_attempts_fails_as_worker_lost(
    session: Session, org: Organization, run: Reconcile
) -> None:
    now = utcnow()
    make_endpoint(session, org)
    video = make_video(
        session,
        org,
        status=VideoStatus.IN_PROGRESS,
        attempts=MAX_ATTEMPTS,
        heartbeat_at=now - STALE_AFTER - timedelta(seconds=1),
    )
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch, now=now)

    assert report.failed == [video.id] and report.requeued == []
    video = reloaded(session, video)
    assert (video.status, video.error_code) == (VideoStatus.FAILED, "worker_lost")
    assert video.completed_at is not None
    assert dispatch.sent == []
    assert count(session, WebhookEvent, WebhookEvent.video_id == video.id, WebhookEvent.type == "video.failed") == 1


def test_a_job_with_a_recent_heartbeat_is_left_to_its_worker(
    session: Session, org: Organization, run: Reconcile
) -> None:
    now = utcnow()
    video = make_video(
        session, org, status=VideoStatus.IN_PROGRESS, heartbeat_at=now - STALE_AFTER + timedelta(seconds=5)
    )
    session.commit()

    report = run(Dispatcher(), now=now)

    assert (report.requeued, report.failed) == ([], [])
    assert reloaded(session, video).status == VideoStatus.IN_PROGRESS


def test_the_reconcilers_clock_decides_what_is_stale(session: Session, org: Organization, run: Reconcile) -> None:
    video = make_video(session, org, status=VideoStatus.IN_PROGRESS, heartbeat_at=utcnow())
    session.commit()

    report = run(Dispatcher(), now=utcnow() + STALE_AFTER + timedelta(seconds=1))

    assert report.requeued == [video.id]


@pytest.mark.parametrize("status", [VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED])
def test_finished_jobs_are_never_touched(
    session: Session, org: Organization, run: Reconcile, status: VideoStatus
) -> None:
    long_ago = utcnow() - LONG_AGO
    video = make_video(session, org, status=status, created_at=long_ago, heartbeat_at=long_ago)
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch)

    assert (report.requeued, report.failed, report.redispatched, dispatch.sent) == ([], [], [], [])
    assert reloaded(session, video).status == status


# --- lost nudges ---------------------------------------------------------------------------------


def test_a_queued_job_that_was_never_sent_is_sent(session: Session, org: Organization, run: Reconcile) -> None:
    video = make_video(session, org, created_at=utcnow() - timedelta(minutes=1), dispatched_at=None)
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch)

    assert dispatch.sent == [(video.id, TINY)]
    assert report.redispatched == [video.id]
    assert reloaded(session, video).dispatched_at is not None


def test_a_queued_job_sent_long_ago_is_sent_again(session: Session, org: Organization, run: Reconcile) -> None:
    now = utcnow()
    video = make_video(
        session, org, created_at=now - LONG_AGO, dispatched_at=now - REDISPATCH_AFTER - timedelta(seconds=1)
    )
    session.commit()
    dispatch = Dispatcher()

    run(dispatch, now=now)

    assert dispatch.video_ids == [video.id]
    assert reloaded(session, video).dispatched_at > now - REDISPATCH_AFTER


def test_a_queued_job_sent_recently_is_not_sent_again(session: Session, org: Organization, run: Reconcile) -> None:
    now = utcnow()
    sent_at = now - REDISPATCH_AFTER + timedelta(seconds=30)
    video = make_video(session, org, created_at=now - LONG_AGO, dispatched_at=sent_at)
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch, now=now)

    assert (dispatch.sent, report.redispatched) == ([], [])
    assert reloaded(session, video).dispatched_at == sent_at


def test_a_job_just_created_is_left_to_the_nudge_after_its_commit(
    session: Session, org: Organization, run: Reconcile
) -> None:
    now = utcnow()
    fresh = make_video(session, org, created_at=now - FIRST_SEND_GRACE / 2, dispatched_at=None)
    session.commit()
    dispatch = Dispatcher()

    run(dispatch, now=now)
    assert dispatch.sent == []

    run(dispatch, now=now + FIRST_SEND_GRACE)
    assert dispatch.video_ids == [fresh.id]


def test_a_nudge_the_broker_refused_is_not_recorded_as_sent(
    session: Session, org: Organization, run: Reconcile
) -> None:
    video = make_video(session, org, created_at=utcnow() - LONG_AGO, dispatched_at=None)
    session.commit()
    broker_down = Dispatcher(succeeds=False)

    report = run(broker_down)

    assert broker_down.video_ids == [video.id]
    assert report.redispatched == []
    assert reloaded(session, video).dispatched_at is None

    run(broker_down)  # so the next round tries again
    assert broker_down.video_ids == [video.id, video.id]


def test_only_the_nudges_that_went_out_are_recorded(session: Session, org: Organization, run: Reconcile) -> None:
    long_ago = utcnow() - LONG_AGO
    delivered = make_video(session, org, created_at=long_ago)
    refused = make_video(session, org, created_at=long_ago)
    session.commit()

    report = run(lambda video_id, model: video_id == delivered.id)

    assert report.redispatched == [delivered.id]
    assert reloaded(session, delivered).dispatched_at is not None
    assert reloaded(session, refused).dispatched_at is None


def test_jobs_in_progress_are_not_nudged(session: Session, org: Organization, run: Reconcile) -> None:
    make_video(session, org, status=VideoStatus.IN_PROGRESS, created_at=utcnow() - LONG_AGO, dispatched_at=None)
    session.commit()
    dispatch = Dispatcher()

    run(dispatch)

    assert dispatch.sent == []


def test_a_round_with_nothing_to_do_does_nothing(run: Reconcile) -> None:
    dispatch = Dispatcher()
    report = run(dispatch)
    assert report == ReconcileReport() and dispatch.sent == []
