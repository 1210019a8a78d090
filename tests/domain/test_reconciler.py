"""The reconciler (``videogen.videos.reconciler.reconcile``): jobs the transport lost get back on
track, and nothing else is touched."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.domain.factories import TINY, count, make_endpoint, make_org, make_video, reloaded
from videogen.accounts.tables import Organization
from videogen.database import utcnow
from videogen.storage import LocalStorage, S3Storage, Storage
from videogen.videos import jobs
from videogen.videos.assets import asset_key, input_image_key
from videogen.videos.phases import Phase
from videogen.videos.reconciler import FIRST_SEND_GRACE, ReconcileReport, find_lost_jobs, reconcile, recover
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks.tables import WebhookEvent

STALE_AFTER = timedelta(minutes=10)
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
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
def run(session: Session, storage: Storage) -> Reconcile:
    def run(
        dispatch: Callable[[str, str], bool], now: datetime | None = None, storage: Storage | None = storage
    ) -> ReconcileReport:
        return reconcile(
            session,
            dispatch=dispatch,
            stale_after=STALE_AFTER,
            max_attempts=MAX_ATTEMPTS,
            now=now,
            storage=storage,
        )

    return run


def lost_worker(session: Session, org: Organization, attempts: int = 1) -> Video:
    """A job whose worker (attempt ``attempts``) stopped heart-beating a while ago, committed."""
    video = make_video(
        session,
        org,
        status=VideoStatus.IN_PROGRESS,
        attempts=attempts,
        created_at=utcnow() - LONG_AGO,
        heartbeat_at=utcnow() - STALE_AFTER - timedelta(minutes=1),
        dispatched_at=utcnow() - LONG_AGO,
    )
    session.commit()
    return video


def store_attempt(storage: Storage, video_id: str, attempt: int) -> None:
    for variant in ("video", "thumbnail", "spritesheet"):
        storage.put_bytes(asset_key(video_id, attempt, variant), b"bytes", "application/octet-stream")


def stored_keys(storage: LocalStorage) -> set[str]:
    return {str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file()}


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


# --- two replicas: a decision taken on a read that has since been overtaken ------------------------


def test_a_requeue_decided_on_a_stale_read_changes_nothing_once_another_replica_requeued_and_a_worker_reclaimed(
    session: Session, new_session: Callable[[], Session], org: Organization
) -> None:
    video = lost_worker(session, org)
    replica_a, replica_b, worker = new_session(), new_session(), new_session()
    now = utcnow()

    [seen_by_a] = find_lost_jobs(replica_a, now=now, stale_after=STALE_AFTER)
    replica_a.commit()  # replica A has read the job as lost (attempt 1), and is about to act on it
    assert (seen_by_a.video_id, seen_by_a.attempt) == (video.id, 1)

    report_b = reconcile(
        replica_b,
        dispatch=Dispatcher(),
        stale_after=STALE_AFTER,
        max_attempts=MAX_ATTEMPTS,
        now=now,
    )
    assert report_b.requeued == [video.id]
    assert jobs.claim(worker, video.id, "gpu-2")  # attempt 2 starts, heart-beating from now
    worker.commit()

    assert recover(replica_a, seen_by_a, max_attempts=MAX_ATTEMPTS) is None
    replica_a.commit()

    video = reloaded(session, video)
    assert (video.status, video.attempts, video.worker) == (VideoStatus.IN_PROGRESS, 2, "gpu-2")
    # attempt 2 keeps its job
    assert jobs.heartbeat(worker, video.id, attempt=2, live=jobs.LiveState(10, Phase.DENOISING))


def test_a_lost_worker_verdict_on_a_stale_read_is_void_once_the_worker_has_heart_beaten(
    session: Session, new_session: Callable[[], Session], org: Organization
) -> None:
    video = lost_worker(session, org, attempts=MAX_ATTEMPTS)
    replica, worker = new_session(), new_session()

    [seen] = find_lost_jobs(replica, now=utcnow(), stale_after=STALE_AFTER)
    replica.commit()
    # it was only slow
    assert jobs.heartbeat(worker, video.id, attempt=MAX_ATTEMPTS, live=jobs.LiveState(50, Phase.DENOISING))
    worker.commit()

    assert recover(replica, seen, max_attempts=MAX_ATTEMPTS) is None
    replica.commit()
    video = reloaded(session, video)
    assert (video.status, video.error_code, video.progress) == (VideoStatus.IN_PROGRESS, None, 50)


# --- the files abandoned attempts leave behind -------------------------------------------------------


def test_a_requeued_attempts_files_are_deleted_and_nothing_else(
    session: Session, org: Organization, run: Reconcile, storage: LocalStorage
) -> None:
    video = lost_worker(session, org, attempts=2)
    other = lost_worker(session, org)
    store_attempt(storage, video.id, 2)
    storage.put_bytes(input_image_key(video.id), b"png", "image/png")
    finished = make_video(session, org, status=VideoStatus.COMPLETED)
    session.commit()
    store_attempt(storage, finished.id, 1)
    kept = stored_keys(storage) - {k for k in stored_keys(storage) if k.startswith(f"{video.id}/attempt-2/")}

    report = run(Dispatcher())

    assert sorted(report.requeued) == sorted([video.id, other.id])
    assert stored_keys(storage) == kept  # the input image and other videos' files stay


def test_a_job_failed_as_worker_lost_loses_every_attempts_files_but_keeps_its_input_image(
    session: Session, org: Organization, run: Reconcile, storage: LocalStorage
) -> None:
    video = lost_worker(session, org, attempts=MAX_ATTEMPTS)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        store_attempt(storage, video.id, attempt)
    storage.put_bytes(input_image_key(video.id), b"png", "image/png")

    report = run(Dispatcher())

    assert report.failed == [video.id]
    assert stored_keys(storage) == {input_image_key(video.id)}


def test_storage_being_down_does_not_hold_up_recovery(session: Session, org: Organization, run: Reconcile) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = S3Storage(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key_id="test",
        secret_access_key="test",
        connect_timeout=1,
        max_attempts=1,
    )
    video = lost_worker(session, org)
    dispatch = Dispatcher()

    started = time.monotonic()
    report = run(dispatch, storage=unreachable)

    assert report.requeued == [video.id] and dispatch.video_ids == [video.id]
    assert reloaded(session, video).status == VideoStatus.QUEUED
    assert time.monotonic() - started < 5


# --- lost nudges ---------------------------------------------------------------------------------


def test_a_queued_job_that_was_never_sent_is_sent(session: Session, org: Organization, run: Reconcile) -> None:
    video = make_video(session, org, created_at=utcnow() - timedelta(minutes=1), dispatched_at=None)
    session.commit()
    dispatch = Dispatcher()

    report = run(dispatch)

    assert dispatch.sent == [(video.id, TINY)]
    assert report.redispatched == [video.id]
    assert reloaded(session, video).dispatched_at is not None


def test_a_queued_job_that_was_sent_is_not_sent_again_however_long_it_waits(
    session: Session, org: Organization, run: Reconcile
) -> None:
    """Behind a long queue jobs wait for hours; re-sending them by age would flood the broker with
    duplicates. A nudge that was sent and then lost is found by the queue's depth instead
    (``tests/domain/test_lost_nudges.py``)."""
    now = utcnow()
    sent_at = now - LONG_AGO
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
