"""A worker under faults: what it does with a finished render, a message and a job it loses when
storage or the database goes away, or when the reconciler gives its job to another attempt.

The worker here is the real ``JobRunner`` in this process, with the tiny model on the CPU, a real
PostgreSQL database (one of its own on the shared server) and a real S3 (moto's server, a process
of its own). Faults are real too: each dependency is reached through a ``Link``, a TCP forwarder the
test cuts (connections refused, open ones dropped, as when a server restarts or the network fails)
and restores; a hung S3 is its process stopped with SIGSTOP. The clock is never faked: waits are
short settings, and a test waits on conditions, not for fixed times.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import sqlalchemy as sa
from celery.exceptions import Reject
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session

from model import ModelRegistry
from tests.domain.factories import TINY, make_org, make_video
from tests.helpers import scratch_database
from tests.stack import free_port, wait_until
from videogen.database import get_engine
from videogen.settings import Settings
from videogen.storage import S3Storage, StorageUnavailableError
from videogen.tables import metadata
from videogen.videos import jobs
from videogen.videos.assets import asset_key
from videogen.videos.tables import Video, VideoStatus
from worker.failures import STORAGE_MESSAGE
from worker.pipelines import PipelineCache
from worker.runner import JobRunner, run_message

FINISH_RETRY_SECONDS = 20.0  # the window a test restores a dependency within (it waits on conditions)
DEADLINE = 60.0


# --- faults ----------------------------------------------------------------------------------------


class Link:
    """A TCP forwarder from a port of its own to ``target_port`` that a test can ``cut`` (new
    connections refused, open ones dropped) and ``restore`` (on the same port)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)  # shutdown wakes the accept() blocked in the other thread
        with self._lock:
            open_sockets, self._open = self._open, set()
        for sock in open_sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def retries(step: str) -> float:
    return sample("videogen_worker_retries_total", step=step)


def finished(status: str) -> float:
    return sample("videogen_worker_jobs_total", model=TINY, status=status)


# --- the dependencies and the worker ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the one twin these tests run (the suite's ``models_dir`` builds every kind's)."""
    from model.tiny import build_missing

    root = tmp_path_factory.mktemp("worker-fault-models")
    build_missing([ModelRegistry().get(TINY)], root)
    return root


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of this module's own on the shared server: the URL the test reads it through."""
    with scratch_database("videogen_worker_faults") as url:
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def s3_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """moto's S3 server, a process of this module's own (a test stops it with SIGSTOP)."""
    port = free_port()
    log = (tmp_path_factory.mktemp("worker-fault-moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2).status_code < 500, 60)
        yield process, port
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


@dataclass
class World:
    """The worker and everything it reaches, through links a test can cut."""

    runner: JobRunner
    settings: Settings
    db: Link
    s3: Link
    engine: sa.Engine  # the test's own way to the database: never cut
    bucket: Any  # the test's own way to the bucket (boto3's Bucket resource): never cut

    def keys(self, video_id: str) -> set[str]:
        """The keys stored for ``video_id``, as the worker names them (without the bucket's prefix)."""
        prefix = f"{self.settings.s3_prefix}{video_id}/"
        return {obj.key.removeprefix(self.settings.s3_prefix) for obj in self.bucket.objects.filter(Prefix=prefix)}

    def new_job(self, **values: Any) -> Video:
        with Session(self.engine, expire_on_commit=False) as session:
            video = make_video(session, make_org(session))
            for name, value in values.items():
                setattr(video, name, value)
            session.commit()
            return video

    def job(self, video_id: str) -> Video:
        with Session(self.engine) as session:
            video = session.get_one(Video, video_id)
            session.expunge(video)
            return video

    def in_background(self, call: Callable[[], str]) -> Future[str]:
        pool = ThreadPoolExecutor(1)
        future = pool.submit(call)
        pool.shutdown(wait=False)
        return future


@pytest.fixture(scope="module")
def world(tiny_models: Path, database: str, s3_process: tuple[subprocess.Popen[bytes], int]) -> Iterator[World]:
    _, s3_port = s3_process
    db_port = sa.engine.make_url(database).port or 5432
    db_link, s3_link = Link(db_port), Link(s3_port)
    bucket_name = f"videogen-faults-{secrets.token_hex(3)}"
    settings = Settings(
        _env_file=None,
        data_dir=tiny_models.parent / "worker-fault-data",
        database_url=sa.engine.make_url(database).set(port=db_link.port).render_as_string(hide_password=False),
        storage_backend="s3",
        s3_endpoint_url=f"http://127.0.0.1:{s3_link.port}",
        s3_bucket=bucket_name,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_connect_timeout_seconds=1,
        s3_read_timeout_seconds=2,
        s3_max_attempts=1,
        models_dir=tiny_models,
        device="cpu",
        heartbeat_interval_seconds=0.1,
        worker_finish_retry_seconds=FINISH_RETRY_SECONDS,
        worker_database_wait_seconds=1.5,
    )
    s3 = boto3.resource(
        "s3", endpoint_url=f"http://127.0.0.1:{s3_port}", aws_access_key_id="test", aws_secret_access_key="test"
    )
    bucket = s3.create_bucket(Bucket=bucket_name)
    storage = S3Storage(
        bucket_name,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        access_key_id="test",
        secret_access_key="test",
        connect_timeout=settings.s3_connect_timeout_seconds,
        read_timeout=settings.s3_read_timeout_seconds,
        max_attempts=settings.s3_max_attempts,
    )
    runner = JobRunner(settings, storage, ModelRegistry.from_file(None), PipelineCache(tiny_models, "cpu"))
    engine = sa.create_engine(database)
    try:
        yield World(runner, settings, db_link, s3_link, engine, bucket)
    finally:
        db_link.cut()
        s3_link.cut()
        get_engine(settings.database_url).dispose()
        get_engine.cache_clear()
        engine.dispose()


@pytest.fixture
def links_restored(world: World) -> Iterator[World]:
    """Every link is up again after the test, whatever it cut."""
    try:
        yield world
    finally:
        for link in (world.db, world.s3):
            if link.is_cut:
                link.restore()


@pytest.fixture(autouse=True)
def no_job_left_queued(world: World) -> Iterator[None]:
    """A job a test leaves queued would be the next one a worker claims (the oldest first)."""
    yield
    with world.engine.begin() as conn:
        conn.execute(sa.update(Video).where(Video.status == VideoStatus.QUEUED).values(status=VideoStatus.CANCELLED))


# --- a finished render is not thrown away -----------------------------------------------------------


def test_a_render_finished_while_storage_is_down_is_uploaded_once_it_is_back(links_restored: World) -> None:
    world = links_restored
    video = world.new_job()
    before = retries("upload")
    world.s3.cut()

    outcome = world.in_background(lambda: world.runner.run(video.id))
    wait_until(lambda: retries("upload") > before, DEADLINE, interval=0.05, message="an upload retry")
    waiting = world.job(video.id)
    assert waiting.status == VideoStatus.IN_PROGRESS
    wait_until(  # the heartbeat goes on while the upload waits: the reconciler sees a live job
        lambda: (world.job(video.id).heartbeat_at or waiting.created_at) > (waiting.heartbeat_at or waiting.created_at),
        DEADLINE,
        interval=0.05,
        message="a heartbeat while the upload waits",
    )
    world.s3.restore()

    assert outcome.result(DEADLINE) == VideoStatus.COMPLETED
    done = world.job(video.id)
    assert (done.status, done.attempts, done.video_key) == (VideoStatus.COMPLETED, 1, asset_key(video.id, 1, "video"))
    assert asset_key(video.id, 1, "video") in world.keys(video.id)


def test_a_render_finished_while_the_database_is_down_completes_once_it_is_back_without_rendering_again(
    links_restored: World,
) -> None:
    world = links_restored
    video = world.new_job(num_inference_steps=8)
    before = retries("complete")

    outcome = world.in_background(lambda: world.runner.run(video.id))
    wait_until(lambda: world.job(video.id).status == VideoStatus.IN_PROGRESS, DEADLINE, interval=0.01)
    world.db.cut()  # claimed; the render goes on without the database
    wait_until(lambda: retries("complete") > before, DEADLINE, interval=0.05, message="a completion retry")
    assert asset_key(video.id, 1, "video") in world.keys(video.id)  # the files went up meanwhile
    world.db.restore()

    assert outcome.result(DEADLINE) == VideoStatus.COMPLETED
    done = world.job(video.id)
    assert (done.status, done.attempts, done.video_key) == (VideoStatus.COMPLETED, 1, asset_key(video.id, 1, "video"))


def test_storage_down_past_the_window_fails_the_job_with_a_message_naming_nothing_internal(
    links_restored: World,
) -> None:
    world = links_restored
    world.settings.worker_finish_retry_seconds = 1.0
    video = world.new_job()
    world.s3.cut()
    try:
        started = time.monotonic()
        assert world.runner.run(video.id) == VideoStatus.FAILED
        assert time.monotonic() - started < 15
    finally:
        world.settings.worker_finish_retry_seconds = FINISH_RETRY_SECONDS

    failed = world.job(video.id)
    assert (failed.status, failed.error_code, failed.error_message) == (
        VideoStatus.FAILED,
        "storage_unavailable",
        STORAGE_MESSAGE,
    )


def test_a_hung_storage_fails_uploads_downloads_and_stalled_streams_in_bounded_time(
    world: World, s3_process: tuple[subprocess.Popen[bytes], int]
) -> None:
    process, port = s3_process
    read_timeout, attempts = 1.0, 2
    storage = S3Storage(
        world.settings.s3_bucket,
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key_id="test",
        secret_access_key="test",
        connect_timeout=1,
        read_timeout=read_timeout,
        max_attempts=attempts,
    )
    storage.put_bytes("hung/large.bin", bytes(16 << 20), "application/octet-stream")  # more than socket buffers
    streaming = storage.open("hung/large.bin").chunks
    next(streaming)
    bound = attempts * (read_timeout + 1) + 2  # each try: 1 s for "100 Continue", the read timeout; backoff

    process.send_signal(signal.SIGSTOP)  # it accepts connections (the kernel does) but never answers
    try:
        took: dict[str, float] = {}
        for name, call in [
            ("upload", lambda: storage.put_bytes("hung/thumbnail.jpg", b"jpeg", "image/jpeg")),
            ("download", lambda: storage.open("hung/large.bin")),
            ("stalled stream", lambda: b"".join(streaming)),
        ]:
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError) as raised:
                call()
            took[name] = time.monotonic() - started
            assert raised.value.transient, name
    finally:
        process.send_signal(signal.SIGCONT)

    assert all(seconds < bound for seconds in took.values()), took


# --- a worker without a database keeps its message -------------------------------------------------


def test_a_worker_that_cannot_reach_the_database_waits_then_hands_the_message_back(links_restored: World) -> None:
    world = links_restored
    video = world.new_job()
    before = retries("claim")
    world.db.cut()

    started = time.monotonic()
    with pytest.raises(Reject) as rejected:
        run_message(world.runner, video.id)
    waited = time.monotonic() - started

    assert rejected.value.requeue is True  # back to the broker, not acknowledged
    assert waited >= world.settings.worker_database_wait_seconds  # it waited, no tight loop
    assert waited < world.settings.worker_database_wait_seconds + 10
    assert retries("claim") > before
    assert world.job(video.id).status == VideoStatus.QUEUED

    world.db.restore()  # the message, delivered again, runs the job
    assert run_message(world.runner, video.id) == VideoStatus.COMPLETED


# --- a job taken away is superseded, not cancelled --------------------------------------------------


def requeue(session: Session, video_id: str) -> None:
    """What the reconciler does to a job it thinks lost. The row is locked while its heartbeat is
    read, so the worker's next beat cannot slip in between the read and the requeue."""
    seen = session.execute(select(Video.heartbeat_at).where(Video.id == video_id).with_for_update()).scalar_one()
    assert jobs.requeue(session, video_id, attempt=1, silent_since=seen)


def requeue_and_reclaim(session: Session, video_id: str) -> None:
    """... and then another worker claims it: attempt 2 starts."""
    requeue(session, video_id)
    assert jobs.claim(session, video_id, "gpu-2")


def cancel(session: Session, video_id: str) -> None:
    assert jobs.cancel(session, video_id)


@pytest.mark.parametrize(
    ("take_away", "outcome", "left"),
    [
        (requeue_and_reclaim, "superseded", (VideoStatus.IN_PROGRESS, 2)),
        (requeue, "superseded", (VideoStatus.QUEUED, 1)),
        (cancel, "cancelled", (VideoStatus.CANCELLED, 1)),
    ],
    ids=["requeued-and-claimed-again", "requeued", "cancelled"],
)
def test_a_job_taken_from_its_worker_stops_it_and_is_counted_for_what_happened(
    world: World, take_away: Callable[[Session, str], None], outcome: str, left: tuple[VideoStatus, int]
) -> None:
    video = world.new_job(num_inference_steps=400)
    counted = {status: finished(status) for status in ("superseded", "cancelled")}

    result = world.in_background(lambda: world.runner.run(video.id))
    wait_until(lambda: world.job(video.id).progress > 0, DEADLINE, interval=0.02, message="the render under way")
    with Session(world.engine) as session:
        take_away(session, video.id)
        session.commit()

    assert result.result(DEADLINE) == outcome
    assert {status: finished(status) - counted[status] for status in counted} == {
        status: 1.0 if status == outcome else 0.0 for status in counted
    }
    now = world.job(video.id)
    assert (now.status, now.attempts) == left  # the job is as the taker left it
    assert world.keys(video.id) == set()  # attempt 1 wrote nothing that stays


# --- files of attempts that did not complete --------------------------------------------------------


def test_the_worker_that_runs_a_later_attempt_deletes_the_earlier_attempts_files(world: World) -> None:
    video = world.new_job(attempts=1)  # queued again after attempt 1, whose files were left behind
    for variant in ("video", "thumbnail"):
        world.bucket.put_object(Key=world.settings.s3_prefix + asset_key(video.id, 1, variant), Body=b"orphan")

    assert world.runner.run(video.id) == VideoStatus.COMPLETED

    assert world.job(video.id).attempts == 2
    keys = {k for k in world.keys(video.id) if k.startswith(video.id)}
    assert keys == {asset_key(video.id, 2, variant) for variant in ("video", "thumbnail", "spritesheet")}
