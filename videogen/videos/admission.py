"""Whether an organization may start one more job, decided exactly, then the job itself.

Each admission runs in one transaction that bumps the organization's ``admission_seq`` and reads
its standing (``videogen.accounts.standing``) in the same statement. That write takes the
organization's row lock on PostgreSQL and the database write lock on SQLite, so one organization's
submissions are checked one at a time: 50 concurrent requests against a limit of 5 admit exactly 5,
and an ``Idempotency-Key`` retried concurrently creates one job. Other organizations are not held up
on PostgreSQL. Admission costs two statements (four with an ``Idempotency-Key``) however many jobs
the organization has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from model.spec import Capability
from videogen.accounts.standing import Standing, count_admitted, start_of_utc_day, take, take_and_count
from videogen.accounts.tables import ApiKey
from videogen.accounts.tiers import Tier
from videogen.database import rows_affected, utcnow
from videogen.errors import ConflictError, PermissionDeniedError, QuotaExceededError, RateLimitError
from videogen.ids import new_id
from videogen.tracing import current_traceparent
from videogen.videos.parameters import VideoParameters
from videogen.videos.reference_images import ReferenceImage
from videogen.videos.tables import IdempotencyKey, Video, VideoStatus

# A client over its concurrency limit should come back when a job has likely moved on.
CONCURRENCY_RETRY_AFTER_SECONDS = 10


@dataclass(frozen=True)
class Admission:
    video: Video
    replayed: bool  # True when an Idempotency-Key matched an earlier request


def check_tier(tier: Tier, params: VideoParameters) -> None:
    """403 for what the tier never allows, whatever the load: it is not worth a retry."""
    if not tier.allows(params.capability):
        raise PermissionDeniedError(
            f"Your tier ({tier.name}) does not include {params.capability.value.replace('_', '-')} generation.",
            param="input_reference" if params.capability == Capability.IMAGE_TO_VIDEO else "model",
            code="capability_not_allowed",
        )
    if not tier.allows_model(params.model):
        raise PermissionDeniedError(
            f"Your tier ({tier.name}) does not include the model '{params.model}'.",
            param="model",
            code="model_not_allowed",
        )
    if float(params.seconds) > tier.max_seconds:
        raise PermissionDeniedError(
            f"Your tier ({tier.name}) allows clips of at most {tier.max_seconds:g} seconds.",
            param="seconds",
            code="tier_limit",
        )
    if not tier.allows_size(params.size):
        raise PermissionDeniedError(
            f"Your tier ({tier.name}) allows sizes up to {tier.max_size}.", param="size", code="tier_limit"
        )
    if params.num_inference_steps > tier.max_steps:
        raise PermissionDeniedError(
            f"Your tier ({tier.name}) allows at most {tier.max_steps} inference steps.",
            param="num_inference_steps",
            code="tier_limit",
        )


def admit(
    session: Session,
    *,
    api_key: ApiKey,
    tier: Tier,
    params: VideoParameters,
    idempotency_key: str | None,
    fingerprint: str,
    idempotency_ttl: timedelta,
    webhook_url: str | None = None,
    image: ReferenceImage | None = None,
    remixed_from: str | None = None,
    nudged_at: datetime | None = None,
) -> Admission:
    """Admit the job ``params`` describe, or refuse it (429) on the organization's standing.

    Without an ``Idempotency-Key`` the job's row is written first and the organization's lock is
    taken last, by the one statement that also moves its standing: one organization's concurrent
    submissions then wait for each other during that statement and the commit only, not during the
    INSERT. A refusal raises, and the caller's unit of work rolls the row and the counts back. With
    a key the lock comes first: a retry racing its original must find the original's key.
    ``nudged_at`` is written as the row's ``dispatched_at`` (``videogen.videos.dispatch``).
    """
    org_id = api_key.organization_id
    now = utcnow()
    requested = params.rendered_seconds  # what is billed is what is rendered
    if idempotency_key is None:
        video = _insert(session, api_key, tier, params, webhook_url, image, remixed_from, nudged_at)
        _check_standing(tier, take_and_count(session, org_id, requested, now), requested, now)
        return Admission(video=video, replayed=False)

    standing = take(session, org_id, now)
    previous = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.organization_id == org_id, IdempotencyKey.key == idempotency_key)
    )
    if previous is not None and previous.created_at > now - idempotency_ttl:
        if previous.request_hash != fingerprint:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        replayed = session.get(Video, previous.video_id)
        assert replayed is not None
        return Admission(video=replayed, replayed=True)
    if previous is not None:  # expired: the key may be used afresh
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == previous.id))

    _check_standing(tier, standing, requested, now)
    video = _insert(session, api_key, tier, params, webhook_url, image, remixed_from, nudged_at)
    count_admitted(session, org_id, standing, requested, now)
    session.add(
        IdempotencyKey(organization_id=org_id, key=idempotency_key, request_hash=fingerprint, video_id=video.id)
    )
    session.flush()
    return Admission(video=video, replayed=False)


def _check_standing(tier: Tier, standing: Standing, requested: float, now: datetime) -> None:
    """429 if one more job of ``requested`` seconds does not fit the organization's ``standing``
    (as it was before this job)."""
    if standing.active_jobs >= tier.max_concurrent_jobs:
        raise RateLimitError(
            f"Your organization has {standing.active_jobs} jobs queued or running; your tier ({tier.name}) allows "
            f"{tier.max_concurrent_jobs} at once. Retry when one finishes.",
            retry_after=CONCURRENCY_RETRY_AFTER_SECONDS,
            code="concurrency_limit_exceeded",
        )
    used = standing.billed_seconds_today
    if used + requested > tier.video_seconds_per_day:
        reset = start_of_utc_day(now) + timedelta(days=1)
        raise QuotaExceededError(
            f"This request ({requested:g} s) would exceed your daily quota of {tier.video_seconds_per_day:g} "
            f"video-seconds ({used:g} used today). The quota resets at {reset.isoformat()}.",
            retry_after=(reset - now).total_seconds(),
        )


def _insert(
    session: Session,
    api_key: ApiKey,
    tier: Tier,
    params: VideoParameters,
    webhook_url: str | None,
    image: ReferenceImage | None,
    remixed_from: str | None,
    nudged_at: datetime | None,
) -> Video:
    video = _new_video(api_key, params, tier, webhook_url)
    video.remixed_from_video_id = remixed_from
    video.dispatched_at = nudged_at
    if image is not None:
        video.input_image_sha256 = image.sha256
        video.input_image_bytes = image.bytes
        video.input_image_width, video.input_image_height = image.width, image.height
        video.input_fit = image.fit.value
    session.add(video)
    session.flush()
    return video


def _new_video(api_key: ApiKey, params: VideoParameters, tier: Tier, webhook_url: str | None) -> Video:
    """The job's row, queued. The tier's priority and retention are copied in: a later tier change
    does not reorder or re-expire work already accepted."""
    return Video(
        id=new_id("video"),
        organization_id=api_key.organization_id,
        api_key_id=api_key.id,
        status=VideoStatus.QUEUED,
        model=params.model,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        seconds=params.seconds,
        duration_seconds=params.rendered_seconds,
        priority=tier.priority,
        retention_hours=tier.retention_hours,
        width=params.size.width,
        height=params.size.height,
        fps=params.fps,
        num_frames=params.num_frames,
        num_inference_steps=params.num_inference_steps,
        guidance_scale=params.guidance_scale,
        seed=params.seed,
        metadata_=params.metadata,
        webhook_url=webhook_url,
        traceparent=current_traceparent(),
    )


def purge_idempotency_keys(session: Session, ttl: timedelta) -> int:
    """Forget keys older than ``ttl``. Part of the reconciler's batch; the caller commits."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= utcnow() - ttl))
    return rows_affected(result)
