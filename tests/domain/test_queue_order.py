"""Which job a worker runs next (``jobs.claim_next``), and the queue position a client is shown
(``videogen.videos.queue_positions``), which must tell the same story."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.domain.factories import TINY, make_org, make_video, reloaded
from videogen.accounts.tables import OrganizationStatus
from videogen.database import utcnow
from videogen.videos import jobs
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.tables import Video, VideoStatus

OTHER_MODEL = "hunyuanvideo"


def minutes_ago(n: float) -> timedelta:
    return timedelta(minutes=n)


def claim_all(session: Session, model: str = TINY) -> list[str]:
    """Run the queue dry, as a worker would, one claim at a time."""
    order = []
    while (video_id := jobs.claim_next(session, model, "gpu-1")) is not None:
        order.append(video_id)
        session.commit()
    return order


def test_a_worker_takes_the_highest_priority_first_then_the_oldest(session: Session) -> None:
    org = make_org(session)
    now = utcnow()
    old_low = make_video(session, org, priority=1, created_at=now - minutes_ago(30))
    new_high = make_video(session, org, priority=9, created_at=now - minutes_ago(1))
    old_high = make_video(session, org, priority=9, created_at=now - minutes_ago(20))
    mid = make_video(session, org, priority=5, created_at=now - minutes_ago(10))
    session.commit()

    assert claim_all(session) == [old_high.id, new_high.id, mid.id, old_low.id]


def test_a_claimed_job_is_in_progress_for_the_worker_that_claimed_it(session: Session) -> None:
    video = make_video(session, make_org(session))
    session.commit()

    assert jobs.claim_next(session, TINY, "gpu-7") == video.id
    session.commit()
    video = reloaded(session, video)
    assert (video.status, video.worker, video.attempts) == (VideoStatus.IN_PROGRESS, "gpu-7", 1)


def test_a_worker_skips_the_jobs_of_suspended_organizations(session: Session) -> None:
    now = utcnow()
    suspended = make_org(session, status=OrganizationStatus.SUSPENDED)
    waiting = make_video(session, suspended, priority=9, created_at=now - minutes_ago(10))
    runnable = make_video(session, make_org(session), priority=1, created_at=now - minutes_ago(1))
    session.commit()

    assert claim_all(session) == [runnable.id]
    assert reloaded(session, waiting).status == VideoStatus.QUEUED


def test_a_worker_skips_deleted_videos(session: Session) -> None:
    org = make_org(session)
    now = utcnow()
    deleted = make_video(session, org, created_at=now - minutes_ago(10), deleted_at=now)
    kept = make_video(session, org, created_at=now - minutes_ago(1))
    session.commit()

    assert claim_all(session) == [kept.id]
    assert reloaded(session, deleted).status == VideoStatus.QUEUED


def test_a_worker_takes_only_jobs_for_its_own_model(session: Session) -> None:
    org = make_org(session)
    now = utcnow()
    other = make_video(session, org, model=OTHER_MODEL, priority=9, created_at=now - minutes_ago(10))
    mine = make_video(session, org, created_at=now - minutes_ago(1))
    session.commit()

    assert claim_all(session, TINY) == [mine.id]
    assert claim_all(session, OTHER_MODEL) == [other.id]


def test_a_worker_skips_jobs_that_are_not_queued(session: Session) -> None:
    org = make_org(session)
    for status in (VideoStatus.IN_PROGRESS, VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED):
        make_video(session, org, status=status)
    session.commit()

    assert jobs.claim_next(session, TINY, "gpu-1") is None


def test_there_is_nothing_to_claim_in_an_empty_queue(session: Session) -> None:
    assert jobs.claim_next(session, TINY, "gpu-1") is None


# --- queue position ------------------------------------------------------------------------------


@pytest.fixture
def positions() -> QueuePositions:
    """Positions as an API process computes them, with the default precision."""
    return QueuePositions()


@contextmanager
def statements_counted(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_queue_position_is_the_order_in_which_workers_take_the_jobs(
    session: Session, positions: QueuePositions
) -> None:
    orgs = [make_org(session), make_org(session)]
    now = utcnow()
    videos = [
        make_video(session, orgs[i % 2], priority=priority, created_at=now - minutes_ago(age))
        for i, (priority, age) in enumerate([(1, 50), (5, 40), (9, 5), (5, 30), (9, 45), (1, 1)])
    ]
    make_video(session, orgs[0], model=OTHER_MODEL, priority=9, created_at=now - minutes_ago(60))
    make_video(session, orgs[0], status=VideoStatus.IN_PROGRESS, priority=9, created_at=now - minutes_ago(60))
    session.commit()

    by_position = sorted(videos, key=lambda v: positions.position(session, v) or 0)
    assert [positions.position(session, v) for v in by_position] == [1, 2, 3, 4, 5, 6]
    assert claim_all(session) == [v.id for v in by_position]


def test_the_queue_position_moves_up_as_jobs_ahead_are_claimed(session: Session, positions: QueuePositions) -> None:
    org = make_org(session)
    now = utcnow()
    first = make_video(session, org, created_at=now - minutes_ago(2))
    second = make_video(session, org, created_at=now - minutes_ago(1))
    session.commit()
    assert positions.position(session, second) == 2

    assert jobs.claim_next(session, TINY, "gpu-1") == first.id
    session.commit()

    assert positions.position(session, second) == 1
    assert positions.position(session, reloaded(session, first)) is None


def test_a_job_that_is_not_queued_has_no_queue_position(session: Session, positions: QueuePositions) -> None:
    org = make_org(session)
    for status in (VideoStatus.IN_PROGRESS, VideoStatus.COMPLETED, VideoStatus.CANCELLED):
        assert positions.position(session, make_video(session, org, status=status)) is None


def test_the_queue_position_does_not_count_jobs_of_suspended_organizations(
    session: Session, positions: QueuePositions
) -> None:
    """A worker skips a suspended organization's jobs, so they are not "ahead" of anyone."""
    now = utcnow()
    suspended = make_org(session, status=OrganizationStatus.SUSPENDED)
    make_video(session, suspended, priority=9, created_at=now - minutes_ago(10))
    mine: Video = make_video(session, make_org(session), priority=1, created_at=now - minutes_ago(1))
    session.commit()

    assert jobs.claim_next(session, TINY, "gpu-1") == mine.id  # the worker takes it next...
    session.rollback()
    assert positions.position(session, mine) == 1  # ...so it is first in the queue


def queue_of(session: Session, length: int) -> list[Video]:
    org = make_org(session)
    now = utcnow()
    videos = [make_video(session, org, created_at=now - minutes_ago(length - i)) for i in range(length)]
    session.commit()
    return videos


def test_deep_in_the_queue_the_position_comes_from_a_recent_snapshot(session: Session) -> None:
    """Beyond the exact range a position is read from a snapshot of the queue: right when it is
    taken, behind by the jobs claimed since until the next one (here, never: a long max age)."""
    videos = queue_of(session, 10)
    positions = QueuePositions(exact_within=3, max_age_seconds=3600)
    assert [positions.position(session, v) for v in videos] == list(range(1, 11))

    for _ in range(2):
        jobs.claim_next(session, TINY, "gpu-1")
    session.commit()

    # Near the head (read twice as deep as the exact range): exact at once. Deep down: the
    # snapshot's rank until it is refreshed.
    assert [positions.position(session, v) for v in videos[2:6]] == [1, 2, 3, 4]
    assert [positions.position(session, v) for v in videos[6:]] == [7, 8, 9, 10]


def test_with_no_snapshot_reuse_every_position_is_exact(session: Session) -> None:
    videos = queue_of(session, 10)
    positions = QueuePositions(exact_within=3, max_age_seconds=0)
    positions.position(session, videos[9])
    jobs.claim_next(session, TINY, "gpu-1")
    session.commit()
    assert positions.position(session, videos[9]) == 9


def test_a_page_of_queued_videos_costs_one_query_whatever_its_length(session: Session) -> None:
    videos = queue_of(session, 30)
    positions = QueuePositions(exact_within=10, max_age_seconds=3600)
    positions.of(session, videos)  # the first read in a process takes the snapshot
    with statements_counted(session) as near_the_head:
        assert positions.of(session, videos[:20]) == {v.id: i + 1 for i, v in enumerate(videos[:20])}
    with statements_counted(session) as deep_down:
        assert positions.of(session, videos[20:]) == {v.id: i + 21 for i, v in enumerate(videos[20:])}
    assert (len(near_the_head), len(deep_down)) == (1, 0)


def test_a_stale_snapshot_is_refreshed_in_the_background_while_clients_poll(session: Session) -> None:
    videos = queue_of(session, 10)
    positions = QueuePositions(exact_within=1, max_age_seconds=0.05)
    assert positions.position(session, videos[9]) == 10
    for _ in range(3):
        jobs.claim_next(session, TINY, "gpu-1")
    session.commit()

    deadline = time.monotonic() + 30
    while (position := positions.position(session, videos[9])) != 7:
        assert position == 10, "a deep position is the old snapshot's until the new one is in"
        assert time.monotonic() < deadline, "the snapshot was never refreshed"
        time.sleep(0.05)


def test_near_the_head_a_position_never_waits_for_the_snapshot(session: Session) -> None:
    """Only positions read from the snapshot need it fresh: in a short queue the head answers alone,
    however stale the snapshot (here, one that may not be reused at all)."""
    videos = queue_of(session, 5)
    positions = QueuePositions(exact_within=10, max_age_seconds=0)
    positions.of(session, videos)  # the process's first snapshot
    with statements_counted(session) as statements:
        assert positions.of(session, videos) == {v.id: i + 1 for i, v in enumerate(videos)}
    assert len(statements) == 1
