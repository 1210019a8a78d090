"""Submitting a video (``VideoSubmitter.submit``), end to end in-process: the checks in their
order, the job's row, and the nudge to a worker once (and only once) the submission commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from model import ModelRegistry
from tests.domain.conftest import Nudges, domain_settings
from tests.domain.factories import TINY, count, make_box, make_catalog, make_key, make_org, make_policy, make_tier
from tests.domain.factories import reloaded as reloaded_row
from videogen import broker
from videogen.accounts.ratelimit import RateLimiter
from videogen.accounts.tables import ApiKey
from videogen.database import utcnow
from videogen.errors import ConflictError, InvalidRequestError, PermissionDeniedError, RateLimitError
from videogen.settings import Settings
from videogen.storage import storage_from_settings
from videogen.videos.parameters import VideoRequest
from videogen.videos.submission import Submission, VideoSubmitter
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks.signing import new_signing_secret


def make_submitter(settings: Settings, **tier_overrides: Any) -> VideoSubmitter:
    return VideoSubmitter(
        settings,
        ModelRegistry.from_file(None),
        make_catalog(make_tier("standard", priority=6, **tier_overrides), make_tier("tiny-only", models=[TINY])),
        RateLimiter("memory://"),
        make_policy(),
        storage_from_settings(settings),
    )


@pytest.fixture
def submitter(settings: Settings) -> VideoSubmitter:
    return make_submitter(settings)


@pytest.fixture
def api_key(session: Session) -> ApiKey:
    key = make_key(session, make_org(session, "standard")).api_key
    session.commit()
    return key


def reloaded(session: Session, video: Video) -> Video:
    return reloaded_row(session, video)  # type: ignore[no-any-return]


def test_a_valid_request_creates_a_queued_video_with_every_parameter_resolved(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    submission = submitter.submit(session, api_key, VideoRequest(prompt="  a red fox  ", metadata={"k": "v"}))
    session.commit()

    assert submission.replayed is False
    video = reloaded(session, submission.video)
    assert (video.status, video.model, video.prompt, video.api_key_id) == (
        VideoStatus.QUEUED,
        TINY,
        "a red fox",
        api_key.id,
    )
    # hunyuanvideo-tiny's defaults: 2 s at 8 fps is 17 frames (4k+1), 128x128, 4 steps.
    assert (video.seconds, video.size, video.fps, video.num_frames) == ("2", "128x128", 8, 17)
    assert (video.num_inference_steps, video.guidance_scale, video.metadata_) == (4, 6.0, {"k": "v"})
    assert video.priority == 6  # the tier's, copied in
    assert 0 <= video.seed < 2**32
    assert (submission.rate_limit.allowed, submission.rate_limit.limit) == (True, 1000)


def test_a_request_naming_no_model_gets_the_deployments_default(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    video = submitter.submit(session, api_key, VideoRequest(prompt="a fox", model=None)).video
    assert video.model == TINY


@pytest.mark.parametrize("model", ["no-such-model", "hunyuanvideo"], ids=["unknown", "known-but-not-served"])
def test_a_model_this_deployment_does_not_serve_is_not_found(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, model: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox", model=model))
    assert (refused.value.status_code, refused.value.code, refused.value.param) == (400, "model_not_found", "model")
    assert TINY in refused.value.message
    assert count(session, Video) == 0


def test_more_metadata_pairs_than_the_deployment_allows_are_refused(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    allowed = {f"k{i}": "v" for i in range(16)}
    submitter.submit(session, api_key, VideoRequest(prompt="a fox", metadata=allowed))

    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox", metadata={**allowed, "one-more": "v"}))
    assert refused.value.param == "metadata"
    assert count(session, Video) == 1


def test_a_request_outside_the_models_limits_is_refused_before_anything_is_written(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox", size="1280x720"))
    assert (refused.value.code, refused.value.param) == ("invalid_size", "size")
    assert count(session, Video) == 0


def test_a_model_outside_the_organizations_tier_is_forbidden(
    session: Session, settings: Settings, api_key: ApiKey
) -> None:
    api_key.organization.tier = "tiny-only"
    session.commit()
    registry = ModelRegistry.from_file(None)
    settings = settings.model_copy(update={"models": [TINY, "hunyuanvideo"]})
    submitter = VideoSubmitter(
        settings,
        registry,
        make_catalog(make_tier("tiny-only", models=[TINY])),
        RateLimiter("memory://"),
        make_policy(),
        storage_from_settings(settings),
    )

    with pytest.raises(PermissionDeniedError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox", model="hunyuanvideo"))
    assert refused.value.code == "model_not_allowed"


def test_an_organization_over_its_request_rate_is_refused_until_the_window_moves(
    session: Session, settings: Settings, api_key: ApiKey
) -> None:
    submitter = make_submitter(settings, requests_per_minute=2)
    submitter.submit(session, api_key, VideoRequest(prompt="one"))
    second = submitter.submit(session, api_key, VideoRequest(prompt="two"))
    assert second.rate_limit.remaining == 0

    with pytest.raises(RateLimitError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="three"))

    assert (refused.value.status_code, refused.value.code) == (429, "rate_limit_exceeded")
    assert refused.value.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert count(session, Video) == 2


def test_the_request_rate_is_counted_per_organization(session: Session, settings: Settings, api_key: ApiKey) -> None:
    submitter = make_submitter(settings, requests_per_minute=1)
    other = make_key(session, make_org(session, "standard")).api_key
    submitter.submit(session, api_key, VideoRequest(prompt="mine"))

    assert submitter.submit(session, other, VideoRequest(prompt="theirs")).rate_limit.allowed is True


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "too-long"])
def test_an_idempotency_key_must_be_1_to_255_characters(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, key: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox"), idempotency_key=key)
    assert refused.value.param == "Idempotency-Key"


def test_the_same_request_with_the_same_idempotency_key_is_answered_with_the_same_video(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    request = VideoRequest(prompt="a fox", seed=3, metadata={"a": "1", "b": "2"})
    first = submitter.submit(session, api_key, request, idempotency_key="k-1")
    session.commit()

    same = VideoRequest(prompt="a fox", seed=3, metadata={"b": "2", "a": "1"})
    again = submitter.submit(session, api_key, same, idempotency_key="k-1")
    session.commit()
    assert (again.replayed, again.video.id) == (True, first.video.id)

    with pytest.raises(ConflictError):
        submitter.submit(session, api_key, VideoRequest(prompt="a wolf", seed=3), idempotency_key="k-1")
    assert count(session, Video) == 1


# --- a video's own webhook_url -------------------------------------------------------------------


def test_a_webhook_url_needs_the_organizations_signing_secret(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, api_key, VideoRequest(prompt="a fox", webhook_url="https://client.example.com/h"))
    assert (refused.value.code, refused.value.param) == ("webhook_secret_missing", "webhook_url")


@pytest.fixture
def signing_org_key(session: Session, api_key: ApiKey) -> ApiKey:
    api_key.organization.webhook_secret_ciphertext = make_box().encrypt(new_signing_secret())
    session.commit()
    return api_key


@pytest.mark.parametrize(
    "url", ["http://client.example.com/h", "https://127.0.0.1/h", "https://user:pw@client.example.com/h"]
)
def test_a_webhook_url_that_deliveries_must_not_reach_is_refused(
    session: Session, submitter: VideoSubmitter, signing_org_key: ApiKey, url: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        submitter.submit(session, signing_org_key, VideoRequest(prompt="a fox", webhook_url=url))
    assert (refused.value.code, refused.value.param) == ("invalid_webhook_url", "webhook_url")
    assert count(session, Video) == 0


def test_an_acceptable_webhook_url_is_kept_with_the_video(
    session: Session, submitter: VideoSubmitter, signing_org_key: ApiKey
) -> None:
    url = "https://client.example.com/hooks?video=1"
    video = submitter.submit(session, signing_org_key, VideoRequest(prompt="a fox", webhook_url=f"  {url} ")).video
    session.commit()
    assert reloaded(session, video).webhook_url == url


# --- the nudge after the commit ------------------------------------------------------------------


def test_a_committed_submission_nudges_a_worker_of_its_model_and_records_it(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, nudges: Nudges
) -> None:
    video = submitter.submit(session, api_key, VideoRequest(prompt="a fox")).video
    assert nudges.messages() == []  # nothing before the commit: a worker would find no row

    session.commit()

    [message] = nudges.messages()
    assert (message.task, message.subject, message.queue) == (broker.GENERATE_TASK, video.id, f"videogen.{TINY}")
    dispatched_at = reloaded(session, video).dispatched_at
    assert dispatched_at is not None and dispatched_at <= utcnow()


def test_a_rolled_back_submission_sends_nothing(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, nudges: Nudges
) -> None:
    submitter.submit(session, api_key, VideoRequest(prompt="a fox"))

    session.rollback()
    session.commit()  # a later commit of the same session does not resurrect the nudge

    assert nudges.messages() == []
    assert count(session, Video) == 0


def test_a_replayed_submission_sends_no_second_nudge(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, nudges: Nudges
) -> None:
    request = VideoRequest(prompt="a fox")
    video = submitter.submit(session, api_key, request, idempotency_key="k-1").video
    session.commit()

    submitter.submit(session, api_key, request, idempotency_key="k-1")
    session.commit()

    assert [m.subject for m in nudges.messages()] == [video.id]


def test_a_process_that_does_not_send_nudges_leaves_the_job_to_the_reconciler(
    session: Session, submitter: VideoSubmitter, api_key: ApiKey, settings: Settings
) -> None:
    assert broker.enabled_settings() is None
    video = submitter.submit(session, api_key, VideoRequest(prompt="a fox")).video
    session.commit()

    assert not settings.broker_dir.exists() or not list(settings.broker_dir.glob("*.msg"))
    assert reloaded(session, video).dispatched_at is None


def test_a_nudge_the_broker_cannot_take_leaves_the_job_queued_for_the_reconciler(
    session: Session, database_url: str, api_key: ApiKey, tmp_path: Path
) -> None:
    data_dir = tmp_path / "unwritable"
    data_dir.mkdir()
    (data_dir / "broker").write_text("not a folder")  # the filesystem broker cannot put a message here
    settings = domain_settings(database_url, data_dir)
    broker.enable(settings)  # set back by the autouse ``no_nudges`` fixture

    submission: Submission = make_submitter(settings).submit(session, api_key, VideoRequest(prompt="a fox"))
    session.commit()  # the commit stands

    video = reloaded(session, submission.video)
    assert (video.status, video.dispatched_at) == (VideoStatus.QUEUED, None)
