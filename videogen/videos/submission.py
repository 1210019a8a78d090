"""Submitting a video: the use cases behind ``POST /v1/videos`` and ``POST /v1/videos/{id}/remix``.

One call takes a client's request from "as sent" to "queued, and a worker told about it", in the
order that makes each refusal cheap and exact:

1. the organization's request rate (Redis or memory, shared by API replicas): 429;
2. the model is served here and can do what is asked (text- or image-to-video), the request fits
   the model (``resolve_video_parameters``) and the deployment's metadata rule: 400;
3. the tier allows the capability, model, length, size and steps: 403 (before any image is
   fetched or decoded: a tier without image-to-video costs no download);
4. the input image, if any, is fetched (an https URL, under the webhook SSRF policy), checked and
   fitted to the video's size (``videogen.videos.reference_images``): 400;
5. a per-video ``webhook_url`` is reachable and signable: 400;
6. admission, exact under concurrency: idempotent replay, concurrency limit, daily quota (429),
   then the job's row (``videogen.videos.admission``) and its input image in storage;
7. the nudge to a worker, sent once the caller's unit of work commits.

A remix is a new submission with the source's parameters, image and seed and a new prompt, through
the same steps. The caller's unit of work commits: a request, a CLI command, a test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from model import ModelRegistry
from model.spec import Capability
from videogen.accounts.ratelimit import RateLimiter, RateLimitResult, rate_limiter_for
from videogen.accounts.tables import ApiKey
from videogen.accounts.tiers import Tier, TierCatalog, load_tiers
from videogen.database import utcnow
from videogen.errors import InvalidRequestError, RateLimitError
from videogen.outbound.url_policy import WebhookURLPolicy, url_policy
from videogen.settings import Settings
from videogen.storage import ObjectNotFoundError, Storage, read_bytes, storage_from_settings
from videogen.videos.admission import admit, check_tier
from videogen.videos.assets import input_image_key
from videogen.videos.dispatch import send_after_commit, sends_nudges
from videogen.videos.parameters import VideoParameters, VideoRequest, resolve_video_parameters
from videogen.videos.reference_images import (
    ImageLimits,
    InputFit,
    ReferenceImage,
    decode_image_url,
    prepare_reference_image,
)
from videogen.videos.service import get_video
from videogen.videos.tables import Video, VideoStatus
from videogen.webhooks.endpoints import check_video_webhook_url

MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class Submission:
    video: Video
    replayed: bool  # an Idempotency-Key matched an earlier request: nothing new was queued
    rate_limit: RateLimitResult  # where the organization stands against its request rate


class VideoSubmitter:
    """Everything a submission is checked against, built once per process."""

    def __init__(
        self,
        settings: Settings,
        registry: ModelRegistry,
        tiers: TierCatalog,
        limiter: RateLimiter,
        url_policy: WebhookURLPolicy,
        storage: Storage,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.tiers = tiers
        self.limiter = limiter
        self.url_policy = url_policy
        self.storage = storage
        self.image_limits = ImageLimits(
            max_bytes=settings.input_image_max_bytes, max_pixels=settings.input_image_max_pixels
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoSubmitter:
        return cls(
            settings,
            ModelRegistry.from_file(settings.models_file),
            load_tiers(settings.tiers_file),
            rate_limiter_for(settings),
            url_policy(settings),
            storage_from_settings(settings),
        )

    # --- the use cases ---------------------------------------------------------------------------

    def submit(
        self, session: Session, api_key: ApiKey, request: VideoRequest, idempotency_key: str | None = None
    ) -> Submission:
        """Queue the video ``request`` asks for."""
        tier, rate = self._admit_rate(api_key, idempotency_key)
        params = self.resolve(request)
        check_tier(tier, params)
        image = self._reference_image(request, params) if params.capability == Capability.IMAGE_TO_VIDEO else None
        webhook_url = None
        if request.webhook_url is not None:
            webhook_url = check_video_webhook_url(self.url_policy, api_key.organization, request.webhook_url)
        return self._queue(
            session, api_key, tier, rate, params, image, request.fingerprint(), idempotency_key, webhook_url
        )

    def remix(
        self, session: Session, api_key: ApiKey, source_id: str, prompt: str, idempotency_key: str | None = None
    ) -> Submission:
        """Queue a new video with ``source_id``'s parameters, input image and seed, and ``prompt``
        (OpenAI's remix). The source must be one of the caller's completed videos."""
        tier, rate = self._admit_rate(api_key, idempotency_key)
        source = get_video(session, api_key.organization_id, source_id)
        if source.status != VideoStatus.COMPLETED:
            raise InvalidRequestError(
                f"Video '{source.id}' is {source.status}; only a completed video can be remixed.",
                param="video_id",
                code="video_not_ready",
            )
        params = self.resolve(
            VideoRequest(
                prompt=prompt,
                model=source.model,
                seconds=source.seconds,
                size=source.size,
                negative_prompt=source.negative_prompt,
                seed=source.seed,
                num_inference_steps=source.num_inference_steps,
                guidance_scale=source.guidance_scale,
                fps=source.fps,
            ),
            with_image=source.input_image_sha256 is not None,
        )
        check_tier(tier, params)
        image = self._source_image(source) if params.capability == Capability.IMAGE_TO_VIDEO else None
        fingerprint = hashlib.sha256(f"remix\0{source.id}\0{prompt}".encode()).hexdigest()
        return self._queue(
            session, api_key, tier, rate, params, image, fingerprint, idempotency_key, None, remixed_from=source.id
        )

    # --- the steps ------------------------------------------------------------------------------

    def resolve(self, request: VideoRequest, with_image: bool | None = None) -> VideoParameters:
        """The request checked against the served model and this deployment's rules, defaults
        filled in. Without a model named, an image goes to the default image-to-video model."""
        image = request.input_reference is not None if with_image is None else with_image
        model_name = request.model or (self.settings.default_image_model if image else self.settings.default_model)
        if model_name not in self.settings.models or model_name not in self.registry:
            available = ", ".join(m for m in self.settings.models if m in self.registry)
            raise InvalidRequestError(
                f"The model '{model_name}' does not exist or is not served here. Available: {available}.",
                param="model",
                code="model_not_found",
            )
        if request.metadata and len(request.metadata) > self.settings.max_metadata_pairs:
            raise InvalidRequestError(
                f"metadata has {len(request.metadata)} keys; at most {self.settings.max_metadata_pairs} are allowed.",
                param="metadata",
            )
        if request.input_fit is not None and request.input_fit not in set(InputFit):
            raise InvalidRequestError(
                f"input_fit must be one of {', '.join(InputFit)}; got {request.input_fit!r}.", param="input_fit"
            )
        return resolve_video_parameters(
            self.registry.get(model_name),
            prompt=request.prompt,
            seconds=request.seconds,
            size=request.size,
            fps=request.fps,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            seed=request.seed,
            negative_prompt=request.negative_prompt,
            metadata=request.metadata,
            with_image=image,
        )

    def _admit_rate(self, api_key: ApiKey, idempotency_key: str | None) -> tuple[Tier, RateLimitResult]:
        tier = self.tiers.of(api_key.organization)
        rate = self.limiter.hit_per_minute("videos.create", api_key.organization_id, tier.requests_per_minute)
        if not rate.allowed:
            raise RateLimitError(
                f"Rate limit reached: your tier ({tier.name}) allows {tier.requests_per_minute} video requests "
                "per minute.",
                retry_after=rate.reset_seconds,
                headers=rate.headers(),
            )
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidRequestError(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.", param="Idempotency-Key"
            )
        return tier, rate

    def _reference_image(self, request: VideoRequest, params: VideoParameters) -> ReferenceImage:
        source = request.input_reference
        assert source is not None  # resolve() made it an image-to-video request
        data = (
            source
            if isinstance(source, bytes)
            else decode_image_url(
                source, self.url_policy, self.image_limits, self.settings.input_image_fetch_timeout_seconds
            )
        )
        return prepare_reference_image(data, params.size, InputFit(request.input_fit or "exact"), self.image_limits)

    def _source_image(self, source: Video) -> ReferenceImage:
        """The remixed video's image as it was given (already fitted to the same size)."""
        try:
            fitted = read_bytes(self.storage, source.input_image_key or "")
        except (ObjectNotFoundError, ValueError):
            raise InvalidRequestError(
                f"The input image of video '{source.id}' is no longer stored (its files expired); it cannot be "
                "remixed.",
                param="video_id",
                code="remix_source_unavailable",
            ) from None
        return ReferenceImage(
            png=fitted,
            sha256=source.input_image_sha256 or "",
            bytes=source.input_image_bytes or 0,
            width=source.input_image_width or 0,
            height=source.input_image_height or 0,
            fit=InputFit(source.input_fit or "exact"),
        )

    def _queue(
        self,
        session: Session,
        api_key: ApiKey,
        tier: Tier,
        rate: RateLimitResult,
        params: VideoParameters,
        image: ReferenceImage | None,
        fingerprint: str,
        idempotency_key: str | None,
        webhook_url: str | None,
        remixed_from: str | None = None,
    ) -> Submission:
        admission = admit(
            session,
            api_key=api_key,
            tier=tier,
            params=params,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            idempotency_ttl=timedelta(hours=self.settings.idempotency_ttl_hours),
            webhook_url=webhook_url,
            image=image,
            remixed_from=remixed_from,
            # Written as nudged with the row when this process sends the nudge after the commit.
            nudged_at=utcnow() if sends_nudges() else None,
        )
        video = admission.video
        if not admission.replayed:
            if image is not None:
                # Stored before the commit: a worker that claims the job finds its image. Should the
                # commit fail, the file is orphaned under a video id that never existed.
                key = input_image_key(video.id)
                self.storage.put_bytes(key, image.png, "image/png")
                video.input_image_key = key
                session.flush()
            send_after_commit(session, [(video.id, video.model)])
        return Submission(video=video, replayed=admission.replayed, rate_limit=rate)
