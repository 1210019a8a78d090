"""The job state machine (``videogen.videos.jobs``): which moves exist, who may make them, and
the webhook events they leave behind."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.domain.factories import TINY, count, make_endpoint, make_org, make_video, race, reloaded
from videogen.accounts.tables import Organization
from videogen.videos import jobs
from videogen.videos.phases import Phase
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks.tables import WebhookDelivery, WebhookEndpoint, WebhookEvent

QUEUED, IN_PROGRESS, COMPLETED, FAILED, CANCELLED = VideoStatus
ALL_MOVES = list(itertools.product(VideoStatus, VideoStatus))
ALLOWED = [(a, b) for a, b in ALL_MOVES if b in jobs.ALLOWED_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_MOVES if b not in jobs.ALLOWED_TRANSITIONS[a]]


def test_the_state_machine_is_the_documented_one() -> None:
    assert set(ALLOWED) == {
        (QUEUED, IN_PROGRESS),
        (QUEUED, CANCELLED),
        (QUEUED, FAILED),
        (IN_PROGRESS, COMPLETED),
        (IN_PROGRESS, FAILED),
        (IN_PROGRESS, CANCELLED),
        (IN_PROGRESS, QUEUED),
    }
    assert all(not jobs.ALLOWED_TRANSITIONS[s] for s in (COMPLETED, FAILED, CANCELLED))


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_moves_a_job_in_its_source_state(
    session: Session, source: VideoStatus, target: VideoStatus
) -> None:
    video = make_video(session, make_org(session), status=source)
    session.commit()

    assert jobs.transition(session, video.id, target, expected={source}) is True
    session.commit()
    assert reloaded(session, video).status == target


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_every_transition_the_machine_lacks_is_refused_as_a_programming_error(
    session: Session, source: VideoStatus, target: VideoStatus
) -> None:
    video = make_video(session, make_org(session), status=source)
    session.commit()

    with pytest.raises(jobs.IllegalTransitionError):
        jobs.transition(session, video.id, target, expected={source})
    session.rollback()
    assert reloaded(session, video).status == source


def test_one_illegal_source_among_legal_ones_refuses_the_whole_transition(session: Session) -> None:
    video = make_video(session, make_org(session), status=IN_PROGRESS)
    session.commit()

    with pytest.raises(jobs.IllegalTransitionError):
        jobs.transition(session, video.id, COMPLETED, expected={IN_PROGRESS, QUEUED})
    assert reloaded(session, video).status == IN_PROGRESS


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [(QUEUED, COMPLETED, IN_PROGRESS), (COMPLETED, CANCELLED, QUEUED), (CANCELLED, FAILED, IN_PROGRESS)],
    ids=["queued-is-not-in-progress", "completed-is-not-queued", "cancelled-is-not-in-progress"],
)
def test_a_transition_from_a_state_the_job_is_not_in_does_nothing(
    session: Session, actual: VideoStatus, target: VideoStatus, expected: VideoStatus
) -> None:
    video = make_video(session, make_org(session), status=actual)
    session.commit()

    assert jobs.transition(session, video.id, target, expected={expected}) is False
    session.commit()
    assert reloaded(session, video).status == actual


def test_a_transition_of_an_unknown_job_does_nothing(session: Session) -> None:
    assert jobs.transition(session, "video_missing", IN_PROGRESS, expected={QUEUED}) is False


# --- claims --------------------------------------------------------------------------------------


def test_a_claim_starts_the_job_as_the_workers_next_attempt(session: Session) -> None:
    video = make_video(session, make_org(session))
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1") is True
    session.commit()
    video = reloaded(session, video)
    assert (video.status, video.attempts, video.worker, video.progress) == (IN_PROGRESS, 1, "gpu-1", 0)
    assert video.started_at is not None and video.heartbeat_at == video.started_at


def test_of_two_workers_claiming_one_job_exactly_one_wins(session: Session, new_session: Callable[[], Session]) -> None:
    video = make_video(session, make_org(session))
    session.commit()
    first, second = new_session(), new_session()

    won_first = jobs.claim(first, video.id, "gpu-1")
    first.commit()
    won_second = jobs.claim(second, video.id, "gpu-2")
    second.commit()

    assert (won_first, won_second) == (True, False)
    video = reloaded(session, video)
    assert (video.worker, video.attempts) == ("gpu-1", 1)


def test_of_many_workers_racing_for_one_job_exactly_one_wins(
    session: Session, new_session: Callable[[], Session]
) -> None:
    video = make_video(session, make_org(session))
    session.commit()
    workers = [new_session() for _ in range(8)]

    def claim(i: int) -> bool:
        won = jobs.claim(workers[i], video.id, f"gpu-{i}")
        workers[i].commit()
        return won

    results = race(len(workers), claim)

    assert sorted(results, key=str) == [False] * 7 + [True]
    video = reloaded(session, video)
    assert (video.worker, video.attempts) == (f"gpu-{results.index(True)}", 1)


def test_racing_workers_each_take_a_different_job(session: Session, new_session: Callable[[], Session]) -> None:
    org = make_org(session)
    queued = {make_video(session, org).id for _ in range(4)}
    session.commit()
    workers = [new_session() for _ in range(6)]

    def claim_next(i: int) -> str | None:
        taken = jobs.claim_next(workers[i], TINY, f"gpu-{i}")
        workers[i].commit()
        return taken

    taken = race(len(workers), claim_next)

    assert sorted(t for t in taken if isinstance(t, str)) == sorted(queued)
    assert taken.count(None) == 2


def requeue_as_read(session: Session, video_id: str) -> bool:
    """The reconciler's requeue: of the attempt and heartbeat it reads now."""
    video = session.get_one(Video, video_id, populate_existing=True)
    assert video.heartbeat_at is not None
    return jobs.requeue(session, video_id, attempt=video.attempts, silent_since=video.heartbeat_at)


def test_a_requeued_job_can_be_claimed_again_for_a_new_attempt(session: Session) -> None:
    video = make_video(session, make_org(session), dispatched_at=None)
    session.commit()
    assert jobs.claim(session, video.id, "gpu-1")
    session.commit()

    assert requeue_as_read(session, video.id) is True
    session.commit()
    video = reloaded(session, video)
    assert (video.status, video.worker, video.dispatched_at, video.progress) == (QUEUED, None, None, 0)

    assert jobs.claim(session, video.id, "gpu-2") is True
    session.commit()
    assert (reloaded(session, video).attempts, video.worker) == (2, "gpu-2")


# --- requeues and lost-worker failures act only on what was read ----------------------------------


@pytest.fixture
def running(session: Session) -> Video:
    """A job its first worker runs (attempt 1), as the reconciler might read it."""
    video = make_video(session, make_org(session))
    session.commit()
    assert jobs.claim(session, video.id, "gpu-1")
    session.commit()
    return reloaded(session, video)


def test_a_requeue_of_another_attempt_than_the_jobs_does_nothing(session: Session, running: Video) -> None:
    assert running.heartbeat_at is not None
    assert jobs.requeue(session, running.id, attempt=2, silent_since=running.heartbeat_at) is False
    session.commit()
    assert (reloaded(session, running).status, running.worker) == (IN_PROGRESS, "gpu-1")


def test_a_requeue_is_void_once_the_worker_has_heart_beaten_since_it_was_judged_lost(
    session: Session, new_session: Callable[[], Session], running: Video
) -> None:
    judged = running.heartbeat_at
    assert judged is not None
    worker = new_session()
    # merely slow, not dead
    assert jobs.heartbeat(worker, running.id, attempt=1, live=jobs.LiveState(30, Phase.DENOISING))
    worker.commit()

    assert jobs.requeue(session, running.id, attempt=1, silent_since=judged) is False
    session.commit()
    video = reloaded(session, running)
    assert (video.status, video.worker, video.progress) == (IN_PROGRESS, "gpu-1", 30)


def test_a_lost_worker_failure_is_void_once_the_worker_has_heart_beaten_since(
    session: Session, new_session: Callable[[], Session], running: Video
) -> None:
    judged = running.heartbeat_at
    assert judged is not None
    worker = new_session()
    assert jobs.heartbeat(worker, running.id, attempt=1, live=jobs.LiveState(30, Phase.DENOISING))
    worker.commit()

    assert jobs.fail(session, running.id, "worker_lost", "gone", attempt=1, silent_since=judged) is False
    session.commit()
    assert (reloaded(session, running).status, running.error_code) == (IN_PROGRESS, None)


def test_a_requeue_of_the_attempt_and_heartbeat_it_read_moves_the_job(session: Session, running: Video) -> None:
    assert running.heartbeat_at is not None
    assert jobs.requeue(session, running.id, attempt=1, silent_since=running.heartbeat_at) is True
    session.commit()
    video = reloaded(session, running)
    assert (video.status, video.worker, video.attempts) == (QUEUED, None, 1)


@pytest.mark.parametrize("status", [QUEUED, IN_PROGRESS, COMPLETED, CANCELLED])
def test_the_job_as_it_is_now_tells_a_refused_worker_why(session: Session, running: Video, status: VideoStatus) -> None:
    assert jobs.attempt_of(session, running.id) == (IN_PROGRESS, 1)
    session.execute(update(Video).where(Video.id == running.id).values(status=status))
    session.commit()
    assert jobs.attempt_of(session, running.id) == (status, 1)
    assert jobs.attempt_of(session, "video_missing") is None


# --- the attempt guard ---------------------------------------------------------------------------


@pytest.fixture
def reclaimed(session: Session) -> Video:
    """A job whose first worker (attempt 1) looked dead: requeued and now run by attempt 2."""
    video = make_video(session, make_org(session))
    session.commit()
    assert jobs.claim(session, video.id, "gpu-1")
    assert requeue_as_read(session, video.id)
    assert jobs.claim(session, video.id, "gpu-2")
    session.commit()
    assert reloaded(session, video).attempts == 2
    return video


def test_a_worker_from_an_earlier_attempt_cannot_complete_the_job(session: Session, reclaimed: Video) -> None:
    done = jobs.complete(
        session,
        reclaimed.id,
        attempt=1,
        video_key="k.mp4",
        thumbnail_key="k.webp",
        video_bytes=1,
        retention=timedelta(hours=1),
    )
    session.commit()
    assert done is False
    video = reloaded(session, reclaimed)
    assert (video.status, video.video_key) == (IN_PROGRESS, None)


def test_a_worker_from_an_earlier_attempt_cannot_fail_the_job(session: Session, reclaimed: Video) -> None:
    assert jobs.fail(session, reclaimed.id, "oom", "out of memory", attempt=1) is False
    session.commit()
    video = reloaded(session, reclaimed)
    assert (video.status, video.error_code) == (IN_PROGRESS, None)


def test_a_worker_from_an_earlier_attempt_is_told_to_stop_at_its_heartbeat(session: Session, reclaimed: Video) -> None:
    assert jobs.heartbeat(session, reclaimed.id, attempt=1, live=jobs.LiveState(90, Phase.DENOISING)) is False
    session.commit()
    assert reloaded(session, reclaimed).progress == 0


def test_the_current_attempt_heartbeats_and_completes_the_job(session: Session, reclaimed: Video) -> None:
    assert jobs.heartbeat(session, reclaimed.id, attempt=2, live=jobs.LiveState(40, Phase.DENOISING)) is True
    session.commit()
    assert reloaded(session, reclaimed).progress == 40

    done = jobs.complete(
        session,
        reclaimed.id,
        attempt=2,
        video_key="k.mp4",
        thumbnail_key="k.webp",
        video_bytes=123,
        retention=timedelta(hours=2),
    )
    session.commit()
    assert done is True
    video = reloaded(session, reclaimed)
    assert (video.status, video.progress, video.video_key, video.video_bytes) == (COMPLETED, 100, "k.mp4", 123)
    assert video.completed_at is not None and video.expires_at == video.completed_at + timedelta(hours=2)


def test_a_failed_job_keeps_its_error(session: Session, reclaimed: Video) -> None:
    assert jobs.fail(session, reclaimed.id, "oom", "x" * 5000, attempt=2) is True
    session.commit()
    video = reloaded(session, reclaimed)
    assert (video.status, video.error_code, len(video.error_message or "")) == (FAILED, "oom", 2000)
    assert video.completed_at is not None


# --- cancellation --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [QUEUED, IN_PROGRESS])
def test_a_queued_or_running_job_can_be_cancelled(session: Session, status: VideoStatus) -> None:
    video = make_video(session, make_org(session), status=status)
    session.commit()

    assert jobs.cancel(session, video.id) is True
    session.commit()
    video = reloaded(session, video)
    assert video.status == CANCELLED and video.completed_at is not None


@pytest.mark.parametrize("status", [COMPLETED, FAILED, CANCELLED])
def test_a_finished_job_cannot_be_cancelled(session: Session, status: VideoStatus) -> None:
    video = make_video(session, make_org(session), status=status)
    session.commit()

    assert jobs.cancel(session, video.id) is False
    session.commit()
    assert reloaded(session, video).status == status


def test_a_cancelled_job_cannot_be_completed_by_its_worker(session: Session) -> None:
    video = make_video(session, make_org(session))
    session.commit()
    assert jobs.claim(session, video.id, "gpu-1")
    assert jobs.cancel(session, video.id)
    session.commit()

    assert jobs.heartbeat(session, video.id, attempt=1, live=jobs.LiveState(50, Phase.DENOISING)) is False
    done = jobs.complete(
        session,
        video.id,
        attempt=1,
        video_key="k.mp4",
        thumbnail_key="k.webp",
        video_bytes=1,
        retention=timedelta(hours=1),
    )
    assert done is False
    assert jobs.fail(session, video.id, "boom", "boom", attempt=1) is False
    session.commit()
    video = reloaded(session, video)
    assert (video.status, video.video_key, video.error_code) == (CANCELLED, None, None)


def test_a_cancelled_job_is_not_claimed(session: Session) -> None:
    video = make_video(session, make_org(session))
    session.commit()
    assert jobs.cancel(session, video.id)
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1") is False
    assert jobs.claim_next(session, video.model, "gpu-1") is None


# --- webhook events: the outbox written with the transition ---------------------------------------


@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session)


@pytest.fixture
def subscribed(session: Session, org: Organization) -> list[WebhookEndpoint]:
    """Two endpoints that want every event, plus endpoints that must get none: a disabled one, a
    deleted one, and another organization's."""
    wanted = [make_endpoint(session, org).endpoint for _ in range(2)]
    disabled = make_endpoint(session, org).endpoint
    disabled.enabled = False
    deleted = make_endpoint(session, org).endpoint
    deleted.deleted_at = deleted.created_at
    make_endpoint(session, make_org(session))
    session.commit()
    return wanted


def deliveries_of(session: Session, video_id: str, event_type: str) -> list[WebhookDelivery]:
    return list(
        session.scalars(
            select(WebhookDelivery)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookEvent.video_id == video_id, WebhookEvent.type == event_type)
        )
    )


MOVES_WITH_EVENTS: list[tuple[str, VideoStatus, Callable[[Session, str], bool]]] = [
    ("video.in_progress", QUEUED, lambda s, v: jobs.claim(s, v, "gpu-1")),
    (
        "video.completed",
        IN_PROGRESS,
        lambda s, v: jobs.complete(
            s, v, attempt=1, video_key="k", thumbnail_key="t", video_bytes=1, retention=timedelta(hours=1)
        ),
    ),
    ("video.failed", IN_PROGRESS, lambda s, v: jobs.fail(s, v, "oom", "out of memory", attempt=1)),
    ("video.failed", QUEUED, lambda s, v: jobs.transition(s, v, FAILED, expected={QUEUED})),
    ("video.cancelled", QUEUED, jobs.cancel),
    ("video.cancelled", IN_PROGRESS, jobs.cancel),
]


@pytest.mark.parametrize(
    ("event_type", "source", "move"), MOVES_WITH_EVENTS, ids=[f"{s}->{e}" for e, s, _ in MOVES_WITH_EVENTS]
)
def test_a_transition_records_one_event_and_one_delivery_per_subscribed_endpoint(
    session: Session,
    org: Organization,
    subscribed: list[WebhookEndpoint],
    event_type: str,
    source: VideoStatus,
    move: Callable[[Session, str], bool],
) -> None:
    video = make_video(session, org, status=source)
    session.commit()

    assert move(session, video.id) is True
    session.commit()

    assert count(session, WebhookEvent, WebhookEvent.video_id == video.id) == 1
    deliveries = deliveries_of(session, video.id, event_type)
    assert sorted(d.endpoint_id or "" for d in deliveries) == sorted(e.id for e in subscribed)
    assert {d.url for d in deliveries} == {e.url for e in subscribed}
    assert all(d.status == "pending" and d.next_attempt_at is not None for d in deliveries)
    payload = json.loads(deliveries[0].event.payload)
    assert (payload["type"], payload["data"]["id"]) == (event_type, video.id)
    assert payload["data"]["status"] == reloaded(session, video).status


def test_a_refused_transition_records_no_event(
    session: Session, org: Organization, subscribed: list[WebhookEndpoint]
) -> None:
    video = make_video(session, org, status=COMPLETED)
    session.commit()

    assert jobs.cancel(session, video.id) is False
    assert jobs.claim(session, video.id, "gpu-1") is False
    assert jobs.fail(session, video.id, "oom", "x", attempt=1) is False
    session.commit()
    assert count(session, WebhookEvent) == 0
    assert count(session, WebhookDelivery) == 0


def test_a_second_claim_of_the_same_job_records_no_second_event(
    session: Session, org: Organization, subscribed: list[WebhookEndpoint]
) -> None:
    video = make_video(session, org)
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1")
    assert not jobs.claim(session, video.id, "gpu-2")
    session.commit()
    assert count(session, WebhookEvent, WebhookEvent.video_id == video.id) == 1
    assert len(deliveries_of(session, video.id, "video.in_progress")) == len(subscribed)


def test_a_requeue_tells_no_one(session: Session, org: Organization, subscribed: list[WebhookEndpoint]) -> None:
    video = make_video(session, org, status=IN_PROGRESS)
    session.commit()

    assert requeue_as_read(session, video.id)
    session.commit()
    assert count(session, WebhookEvent) == 0


def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(session: Session, org: Organization) -> None:
    endings = make_endpoint(session, org, event_types=None).endpoint  # None: the end of a job only
    starts = make_endpoint(session, org, event_types=["video.in_progress"]).endpoint
    video = make_video(session, org)
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1")
    assert jobs.cancel(session, video.id)
    session.commit()

    assert [d.endpoint_id for d in deliveries_of(session, video.id, "video.in_progress")] == [starts.id]
    assert [d.endpoint_id for d in deliveries_of(session, video.id, "video.cancelled")] == [endings.id]


def test_a_videos_own_webhook_url_gets_the_end_of_the_job_but_not_its_start(
    session: Session, org: Organization
) -> None:
    url = "https://client.example.com/hook"
    video = make_video(session, org, webhook_url=url)
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1")
    session.commit()
    assert count(session, WebhookEvent) == 0

    assert jobs.fail(session, video.id, "oom", "out of memory", attempt=1)
    session.commit()
    [delivery] = deliveries_of(session, video.id, "video.failed")
    assert (delivery.endpoint_id, delivery.url) == (None, url)


def test_the_event_is_rolled_back_with_the_transition(
    session: Session, org: Organization, subscribed: list[WebhookEndpoint]
) -> None:
    video = make_video(session, org)
    session.commit()

    assert jobs.claim(session, video.id, "gpu-1")
    session.rollback()

    assert reloaded(session, video).status == QUEUED
    assert count(session, WebhookEvent) == 0 and count(session, WebhookDelivery) == 0
