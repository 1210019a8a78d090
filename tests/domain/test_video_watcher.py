"""The API process's one reader of watched videos (``videogen.videos.watcher``): what its rounds
cost the database whatever the number of subscribers, and what each subscriber is handed.

Rounds are run one at a time here (``VideoWatcher.round``), as the watcher's task runs them every
poll interval, on the event loop of ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tests.domain.factories import make_org, make_video
from videogen.errors import ServiceUnavailableError
from videogen.ids import new_id
from videogen.videos import jobs
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.tables import Video, VideoStatus
from videogen.videos.watcher import CHUNK, Snapshot, VideoWatcher

T = TypeVar("T")


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


def queries() -> float:
    return REGISTRY.get_sample_value("videogen_watcher_queries_total") or 0.0


def rounds(outcome: str) -> float:
    return REGISTRY.get_sample_value("videogen_watcher_rounds_total", {"outcome": outcome}) or 0.0


def watcher_for(database_url: str, **options: Any) -> VideoWatcher:
    return VideoWatcher(database_url, QueuePositions(), poll_interval=3600, **options)


def running_videos(session: Session, count: int) -> list[str]:
    """``count`` in-progress videos of one organization, inserted at once."""
    org = make_org(session)
    ids = [new_id("video") for _ in range(count)]
    rows = [
        dict(
            id=video_id,
            organization_id=org.id,
            status=VideoStatus.IN_PROGRESS,
            progress=10,
            phase="denoising",
            denoising_step=1,
            model="hunyuanvideo-tiny",
            prompt="a cat",
            seconds="1",
            width=128,
            height=128,
            fps=8,
            num_frames=9,
            num_inference_steps=4,
            guidance_scale=6.0,
            seed=1,
            metadata_={},
        )
        for video_id in ids
    ]
    session.execute(insert(Video), rows)
    session.commit()
    return ids


def test_a_round_costs_a_query_per_chunk_of_watched_videos_however_many_subscribe(
    database_url: str, session: Session
) -> None:
    ids = running_videos(session, 2 * CHUNK + 100)
    watcher = watcher_for(database_url, max_subscriptions=10_000)
    changed_id = ids[-1]

    async def scenario() -> tuple[float, float, list[Snapshot | None], list[Snapshot | None]]:
        videos = session.scalars(select(Video).where(Video.id.in_(ids)))
        first = {video.id: watcher.snapshot(session, video) for video in videos}
        session.commit()
        # Three clients follow every video: the watcher watches each video once.
        subscriptions = [watcher.subscribe(first[video_id]) for video_id in ids for _ in range(3)]
        assert (watcher.watched, watcher.subscriptions) == (len(ids), 3 * len(ids))
        before = queries()
        await watcher.round()
        quiet = queries() - before
        session.execute(update(Video).where(Video.id == changed_id).values(progress=55, denoising_step=2))
        session.commit()
        before = queries()
        await watcher.round()
        busy = queries() - before
        unchanged = [await s.next(first[s.video_id].state_id, 0) for s in subscriptions if s.video_id != changed_id]
        changed = [await s.next(first[s.video_id].state_id, 0) for s in subscriptions if s.video_id == changed_id]
        for subscription in subscriptions:
            subscription.__exit__()
        return quiet, busy, unchanged, changed

    quiet, busy, unchanged, changed = run(scenario)
    assert quiet == 3  # ceil(1,100 / 500) reads of the change columns, nothing else (none is queued)
    assert busy == 3 + 1  # and one read of the one row that changed
    assert unchanged == [None] * (len(ids) - 1) * 3
    assert len(changed) == 3 and all(s is not None for s in changed)
    assert {s.state_id for s in changed if s} == {"in_progress.denoising.55.2.-.-"}
    assert {s.video.progress for s in changed if s and s.video} == {55}
    assert watcher.watched == 0  # the last subscriber gone, nothing is watched


def test_a_subscriber_is_told_when_its_video_moves_up_the_queue_starts_and_ends(
    database_url: str, session: Session
) -> None:
    org = make_org(session)
    ahead = make_video(session, org)
    followed = make_video(session, org)
    session.commit()
    watcher = watcher_for(database_url)

    async def scenario() -> list[str]:
        seen = [watcher.snapshot(session, followed)]
        with watcher.subscribe(seen[0]) as subscription:
            for step in (
                lambda: jobs.claim(session, ahead.id, "gpu-1"),  # the one ahead starts: ours is next
                lambda: jobs.claim(session, followed.id, "gpu-1"),
                lambda: jobs.complete(
                    session,
                    followed.id,
                    attempt=1,
                    video_key=f"videos/{followed.id}.mp4",
                    thumbnail_key=f"videos/{followed.id}.jpg",
                    video_bytes=1,
                    retention=timedelta(hours=1),
                ),
            ):
                assert step()
                session.commit()
                await watcher.round()
                snapshot = await subscription.next(seen[-1].state_id, 0)
                assert snapshot is not None
                seen.append(snapshot)
        return [s.state_id for s in seen]

    states = run(scenario)
    assert states[:3] == ["queued.queued.0.-.2.-", "queued.queued.0.-.1.-", "in_progress.loading.0.-.-.-"]
    assert states[3].startswith("completed.-.100.")


def test_a_deleted_video_is_handed_over_as_gone(database_url: str, session: Session) -> None:
    video = make_video(session, make_org(session), status=VideoStatus.IN_PROGRESS)
    session.commit()
    watcher = watcher_for(database_url)

    async def scenario() -> Snapshot | None:
        running = watcher.snapshot(session, video)
        with watcher.subscribe(running) as subscription:
            session.execute(update(Video).where(Video.id == video.id).values(deleted_at=video.created_at))
            session.commit()
            await watcher.round()
            return await subscription.next(running.state_id, 0)

    gone = run(scenario)
    assert gone is not None and (gone.state_id, gone.video, gone.terminal) == ("deleted", None, True)


def test_a_failed_round_keeps_every_subscription_and_the_next_one_catches_up(session: Session) -> None:
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:1/nowhere_{secrets.token_hex(2)}"
    watcher = watcher_for(unreachable)
    snapshot = Snapshot("video_x", "queued.queued.0.-.1.-", None, None)

    async def scenario() -> bool:
        with watcher.subscribe(snapshot) as subscription:
            failed = rounds("failed")
            await watcher.round()
            assert rounds("failed") == failed + 1
            return subscription.closed is False and watcher.watched == 1

    assert run(scenario)


def test_subscriptions_are_bounded_and_stopping_closes_them(database_url: str) -> None:
    watcher = watcher_for(database_url, max_subscriptions=2)
    snapshot = Snapshot("video_x", "queued.queued.0.-.1.-", None, None)

    async def scenario() -> None:
        first, second = watcher.subscribe(snapshot), watcher.subscribe(snapshot)
        with pytest.raises(ServiceUnavailableError) as busy:
            watcher.subscribe(snapshot)
        assert (busy.value.code, busy.value.headers["Retry-After"]) == ("server_busy", "5")
        waiting = asyncio.ensure_future(first.next(snapshot.state_id, 60))
        await asyncio.sleep(0)
        await watcher.stop()
        assert await asyncio.wait_for(waiting, 5) is None  # a waiter is woken at once, not after 60 s
        assert first.closed and second.closed
        with pytest.raises(ServiceUnavailableError):
            watcher.subscribe(snapshot)

    run(scenario)
