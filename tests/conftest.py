"""Fixtures: the tiny model, and the service in its two configurations.

- ``embedded``: SQLite, local disk, kombu's filesystem broker (no server at all).
- ``production``: PostgreSQL, Redis, S3 over HTTP (moto's standalone server), separate processes.

Each test session gets its own SQLite file, PostgreSQL database, Redis database, bucket, ports and
temporary folders, so two runs on one machine do not interfere; the databases are emptied or dropped
at the end.

Set VIDEOGEN_TEST_POSTGRES_URL to use another PostgreSQL server (a URL allowed to create databases).
Set VIDEOGEN_TEST_REDIS_URL to use another Redis server: without a database
number (``redis://host:6379``) the run claims the first free database from 1 up, as it does on
the default server; with one (``redis://host:6379/9``) it claims that database or fails. Either
way a database is only used when it is empty and no other run holds it, and only that database is
flushed at the end. Database 0 is never used.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
import pytest
import redis

from tests.helpers import (
    BROKEN_MODEL,
    IMAGE_TO_VIDEO_TWINS,
    INPUT_IMAGE_MAX_BYTES,
    MISFIT_MODEL,
    SERVED_TINY_TWINS,
    WEBHOOK_DISABLE_AFTER_SECONDS,
    production_env,
    scratch_database,
    service_env,
)
from tests.stack import ServiceStack, make_broken_model, moto_server
from tests.webhook_receiver import WebhookReceiver

REDIS_SERVER_URL = os.environ.get("VIDEOGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# The key a run sets in the Redis database it claims; it expires in case the run dies unannounced.
REDIS_CLAIM_KEY = "videogen-test-run-claim"
REDIS_CLAIM_SECONDS = 7200

# The models of MODELS_TOML: a broken and a misfit variant of the tiny model (see tests.helpers).
MODELS_TOML = f"""
[models.{BROKEN_MODEL}]
base = "hunyuanvideo-tiny"
weights_subdir = "{BROKEN_MODEL}"

[models.{MISFIT_MODEL}]
base = "hunyuanvideo-tiny"
sizes = ["136x136"]
default_size = "136x136"
"""

# Tiers for the test run: generous ones for tests about other things, tight ones to hit limits.
TIERS_TOML = (
    "\n".join(
        f"""
[tiers.{name}]
models = {models}
max_seconds = {max_seconds}
max_size = "{max_size}"
max_steps = {max_steps}
requests_per_minute = {rpm}
max_concurrent_jobs = {concurrent}
video_seconds_per_day = {daily}
priority = {priority}
retention_hours = 24
"""
        for name, models, max_seconds, max_size, max_steps, rpm, concurrent, daily, priority in [
            ("enterprise", '["*"]', 10, "256x256", 200, 100_000, 1000, 1_000_000, 9),
            ("internal-testing", '["hunyuanvideo-tiny"]', 10, "256x256", 200, 100_000, 1000, 1_000_000, 1),
            ("restricted", '["hunyuanvideo-tiny"]', 2, "128x128", 4, 100_000, 1000, 1_000_000, 5),
            ("rate-limited", '["*"]', 10, "256x256", 200, 3, 1000, 1_000_000, 5),
            ("five-at-once", '["*"]', 10, "256x256", 200, 100_000, 5, 1_000_000, 5),
            ("five-seconds-a-day", '["*"]', 10, "256x256", 200, 100_000, 1000, 5, 5),
        ]
    )
    + """
[tiers.text-only]
models = ["*"]
capabilities = ["text_to_video"]
max_seconds = 10
max_size = "256x256"
max_steps = 200
requests_per_minute = 100000
max_concurrent_jobs = 1000
video_seconds_per_day = 1000000
priority = 5
retention_hours = 24
"""
)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every tiny twin the service serves in tests, plus a deliberately corrupted copy."""
    from model import ModelRegistry
    from model.tiny import build_missing

    root = tmp_path_factory.mktemp("models")
    registry = ModelRegistry()
    build_missing([registry.get(name) for name in SERVED_TINY_TWINS], root)
    make_broken_model(root / "hunyuanvideo-tiny", root / BROKEN_MODEL)
    (root / "models.toml").write_text(MODELS_TOML)
    (root / "tiers.toml").write_text(TIERS_TOML)
    return root


def _base_env(models_dir: Path, data_dir: Path) -> dict[str, str]:
    return service_env(
        models_dir,
        data_dir,
        VIDEOGEN_MODELS=json.dumps([*SERVED_TINY_TWINS, BROKEN_MODEL, MISFIT_MODEL]),
        VIDEOGEN_DEFAULT_IMAGE_MODEL=IMAGE_TO_VIDEO_TWINS[0],
        VIDEOGEN_WORKER_LOADED_MODELS=str(len(SERVED_TINY_TWINS) + 1),
        VIDEOGEN_INPUT_IMAGE_MAX_BYTES=str(INPUT_IMAGE_MAX_BYTES),
        VIDEOGEN_ACCESS_REQUESTS_PER_HOUR="5",
        VIDEOGEN_REDISPATCH_AFTER_SECONDS="5",
        VIDEOGEN_STALE_AFTER_SECONDS="5",
        VIDEOGEN_WEBHOOK_DISABLE_AFTER_SECONDS=str(WEBHOOK_DISABLE_AFTER_SECONDS),
        # Live status (tests/test_live_status.py): events within a fifth of a second, keep-alives every second.
        VIDEOGEN_EVENTS_POLL_INTERVAL_SECONDS="0.2",
        VIDEOGEN_EVENTS_KEEPALIVE_SECONDS="1",
    )


@pytest.fixture(scope="session")
def embedded_stack(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    data_dir = tmp_path_factory.mktemp("embedded")
    stack = ServiceStack("embedded", _base_env(models_dir, data_dir), data_dir)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped afterwards."""
    with scratch_database("videogen_test") as url:
        try:
            yield url
        finally:
            from videogen.database import get_engine

            get_engine.cache_clear()


# Deletes the claim only if it is still ours (a claim that expired may have been taken since).
_RELEASE_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Flushes the database only if no other run has claimed it: our claim, or none left (it expired,
# but our keys kept the database from looking free to anyone else).
_FLUSH_IF_OURS = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or holder == false then redis.call('FLUSHDB') return 1 end
return 0
"""


def _redis_database_count(client: redis.Redis) -> int:
    """How many databases the server has (16 unless configured otherwise, or if CONFIG is off)."""
    try:
        return int(client.config_get("databases")["databases"])
    except (redis.ResponseError, KeyError, ValueError):
        return 16


def _claim_redis_database(server_url: str, token: str) -> tuple[str, redis.Redis]:
    """Claim a Redis database that is empty and held by no other run; returns its URL and a client.

    Runs share one server, and Celery's queues and the rate limiter's counters have fixed names, so
    each run needs a database of its own: SET NX decides between runs racing for the same one, and
    an otherwise non-empty database (another run, leftovers, someone else's data) is left alone.
    """
    parts = urlsplit(server_url)
    named = parts.path.strip("/")
    if named and not named.isdigit():
        pytest.fail(f"VIDEOGEN_TEST_REDIS_URL={server_url!r}: the path must be a database number or nothing")
    if named and int(named) == 0:
        pytest.fail(f"{server_url}: database 0 is never used for tests; name another or none")
    if named:
        candidates = [int(named)]
    else:
        with redis.Redis.from_url(urlunsplit(parts._replace(path="/0"))) as probe:  # reads, never writes
            candidates = list(range(1, _redis_database_count(probe)))
    busy: list[str] = []
    for number in candidates:
        url = urlunsplit(parts._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.set(REDIS_CLAIM_KEY, token, nx=True, ex=REDIS_CLAIM_SECONDS):
            size = client.dbsize()
            if size == 1:
                return url, client
            client.eval(_RELEASE_CLAIM, 1, REDIS_CLAIM_KEY, token)
            busy.append(f"{number} ({size - 1} keys)")
        else:
            busy.append(f"{number} (claimed by another run)")
        client.close()
    pytest.fail(
        f"no free Redis database on {server_url}: {', '.join(busy)}. Another test run may hold them; "
        "if none is running, a run killed before its cleanup left keys behind: empty such a database "
        "with `redis-cli -n N flushdb` (never database 0, which tests do not use)."
    )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database of this run's own (see ``_claim_redis_database``), flushed afterwards."""
    token = f"{os.getpid()}-{secrets.token_hex(8)}"
    url, client = _claim_redis_database(REDIS_SERVER_URL, token)
    try:
        yield url
    finally:
        client.eval(_FLUSH_IF_OURS, 1, REDIS_CLAIM_KEY, token)
        client.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's standalone S3 server: real HTTP, real boto3 signing, real presigned URLs."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="session")
def production_stack(
    models_dir: Path, postgres_url: str, redis_url: str, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceStack]:
    data_dir = tmp_path_factory.mktemp("production")
    env = _base_env(models_dir, data_dir)
    env.update(production_env(postgres_url, redis_url, s3_server, f"videogen-test-{secrets.token_hex(4)}"))
    stack = ServiceStack("production", env, data_dir)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def redirecting_api(production_stack: ServiceStack) -> Iterator[ServiceStack]:
    """A second API replica of the production stack, answering downloads with a 302."""
    replica = ServiceStack(
        "replica", {**production_stack.env, "VIDEOGEN_CONTENT_REDIRECT": "true"}, production_stack.log_dir
    )
    replica.start_api()
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture(scope="session", params=["embedded", "production"])
def stack(request: pytest.FixtureRequest) -> ServiceStack:
    """The service in each configuration, for tests that must hold in both."""
    return request.getfixturevalue(f"{request.param}_stack")


@pytest.fixture(scope="session")
def api_key(stack: ServiceStack) -> str:
    return stack.create_key(f"acme-{stack.name}")


@pytest.fixture
def client(stack: ServiceStack, api_key: str) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK, pointed at us."""
    with openai.OpenAI(base_url=stack.base_url, api_key=api_key, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(stack: ServiceStack, api_key: str) -> Iterator[httpx.Client]:
    """Plain HTTP with the caller's key, for what the SDK does not expose."""
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server receiving webhooks, on 127.0.0.2."""
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()
