"""A broker that was flushed or restarted empty has lost the nudges of queued jobs: the reconciler
sees its queue empty while the database has jobs waiting, and sends them again at once. Here on the
embedded (filesystem) broker, the real one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.domain.conftest import Nudges
from tests.domain.factories import TINY, make_org, make_video, reloaded
from videogen import broker
from videogen.accounts.tables import OrganizationStatus
from videogen.database import utcnow
from videogen.settings import Settings
from videogen.videos.dispatch import dispatch_generation, resend_lost_nudges
from videogen.videos.jobs import claim
from videogen.videos.tables import VideoStatus


def _depth(settings: Settings):  # type: ignore[no-untyped-def]
    return lambda queue: broker.queue_depth(settings, queue)


def _flush(nudges: Nudges) -> None:
    for message in nudges.folder.glob("*.msg"):
        message.unlink()


def test_the_broker_counts_the_nudges_waiting_in_a_queue(nudges: Nudges) -> None:
    queue = broker.queue_for_model(TINY)
    assert broker.queue_depth(nudges.settings, queue) == 0
    assert dispatch_generation(nudges.settings, "video_a", TINY)
    assert dispatch_generation(nudges.settings, "video_b", TINY)
    assert broker.queue_depth(nudges.settings, queue) == 2
    assert broker.queue_depth(nudges.settings, broker.queue_for_model("another-model")) == 0


def test_queued_jobs_whose_nudges_the_broker_lost_are_nudged_again_at_once(session: Session, nudges: Nudges) -> None:
    org = make_org(session)
    long_ago = utcnow() - timedelta(seconds=30)  # nudged recently by REDISPATCH_AFTER's measure (15 min)
    jobs = [make_video(session, org, dispatched_at=long_ago, created_at=long_ago) for _ in range(3)]
    session.commit()
    _flush(nudges)  # the broker restarted empty

    sent = resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings))

    assert sorted(sent) == sorted(j.id for j in jobs)
    assert nudges.subjects(broker.GENERATE_TASK) == sorted(j.id for j in jobs)
    assert all(reloaded(session, j).dispatched_at > long_ago for j in jobs)


def test_a_queue_that_still_holds_nudges_is_left_alone_until_it_drains(session: Session, nudges: Nudges) -> None:
    """Its workers have work meanwhile (any nudge makes a worker take the best job); what the
    partial loss cost is made up once the surviving nudges are taken."""
    org = make_org(session)
    long_ago = utcnow() - timedelta(seconds=30)
    jobs = [make_video(session, org, dispatched_at=long_ago, created_at=long_ago) for _ in range(3)]
    session.commit()
    _flush(nudges)
    assert dispatch_generation(nudges.settings, jobs[0].id, TINY)  # one nudge survived

    assert resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings)) == []
    assert len(nudges.messages()) == 1

    _flush(nudges)  # a worker took the surviving nudge...
    assert claim(session, jobs[0].id, "gpu-1")  # ...and claimed the job it pointed to
    session.commit()
    sent = resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings))

    assert sorted(sent) == sorted(j.id for j in jobs[1:])
    assert len(nudges.messages()) == 2  # one waiting nudge per queued job, no more
    assert resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings)) == []


def test_the_lost_nudges_go_to_the_jobs_a_worker_takes_first(session: Session, nudges: Nudges) -> None:
    org = make_org(session)
    long_ago = utcnow() - timedelta(seconds=30)
    make_video(session, org, priority=1, dispatched_at=long_ago, created_at=long_ago)
    high = make_video(session, org, priority=9, dispatched_at=long_ago, created_at=long_ago)
    session.commit()
    _flush(nudges)

    assert resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings), batch=1) == [high.id]


def test_a_nudge_just_sent_is_not_taken_for_lost(session: Session, nudges: Nudges) -> None:
    org = make_org(session)
    make_video(session, org, dispatched_at=utcnow())  # its nudge may still be on its way
    session.commit()

    assert resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings)) == []
    assert nudges.messages() == []


def test_jobs_no_worker_may_take_need_no_nudge(session: Session, nudges: Nudges) -> None:
    long_ago = utcnow() - timedelta(seconds=30)
    suspended = make_org(session, status=OrganizationStatus.SUSPENDED)
    make_video(session, suspended, dispatched_at=long_ago, created_at=long_ago)
    make_video(session, make_org(session), status=VideoStatus.IN_PROGRESS, created_at=long_ago)
    make_video(session, make_org(session), deleted_at=utcnow(), dispatched_at=long_ago, created_at=long_ago)
    session.commit()

    assert resend_lost_nudges(session, nudges.settings, depth=_depth(nudges.settings)) == []


def test_a_broker_that_cannot_be_asked_gets_no_nudges(session: Session, nudges: Nudges) -> None:
    org = make_org(session)
    long_ago = utcnow() - timedelta(seconds=30)
    job = make_video(session, org, dispatched_at=long_ago, created_at=long_ago)
    session.commit()

    assert resend_lost_nudges(session, nudges.settings, depth=lambda queue: None) == []
    assert reloaded(session, job).dispatched_at == long_ago
