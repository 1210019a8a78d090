"""Submitting a video: the use case behind ``POST /v1/videos``.

One call takes a client's request from "as sent" to "queued, and a worker told about it", in the
order that makes each refusal cheap and exact:

1. the organization's request rate (Redis or memory, shared by API replicas): 429;
2. the model is served here, the request fits the model (``resolve_video_parameters``) and the
   deployment's metadata rule: 400;
3. the tier allows the model, length, size and steps: 403;
4. a per-video ``webhook_url`` is reachable and signable: 400;
5. admission, exact under concurrency: idempotent replay, concurrency limit, daily quota (429),
   then the job's row (``videogen.videos.admission``);
6. the nudge to a worker, sent once the caller's unit of work commits.

The caller's unit of work commits: a request, a CLI command, a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from model import ModelRegistry
from videogen.accounts.ratelimit import RateLimiter, RateLimitResult, rate_limiter_for
from videogen.accounts.tables import ApiKey
from videogen.accounts.tiers import TierCatalog, load_tiers
from videogen.errors import InvalidRequestError, RateLimitError
from videogen.settings import Settings
from videogen.videos.admission import admit, check_tier
from videogen.videos.dispatch import dispatch_after_commit
from videogen.videos.parameters import VideoParameters, VideoRequest, resolve_video_parameters
from videogen.videos.tables import Video
from videogen.webhooks.endpoints import check_video_webhook_url
from videogen.webhooks.url_policy import WebhookURLPolicy, url_policy

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
        webhook_policy: WebhookURLPolicy,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.tiers = tiers
        self.limiter = limiter
        self.webhook_policy = webhook_policy

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoSubmitter:
        return cls(
            settings,
            ModelRegistry.from_file(settings.models_file),
            load_tiers(settings.tiers_file),
            rate_limiter_for(settings.rate_limit_url),
            url_policy(settings),
        )

    def submit(
        self, session: Session, api_key: ApiKey, request: VideoRequest, idempotency_key: str | None = None
    ) -> Submission:
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
        params = self.resolve(request)
        check_tier(tier, params)
        webhook_url = None
        if request.webhook_url is not None:
            webhook_url = check_video_webhook_url(self.webhook_policy, api_key.organization, request.webhook_url)
        admission = admit(
            session,
            api_key=api_key,
            tier=tier,
            params=params,
            idempotency_key=idempotency_key,
            fingerprint=request.fingerprint(),
            idempotency_ttl=timedelta(hours=self.settings.idempotency_ttl_hours),
            webhook_url=webhook_url,
        )
        if not admission.replayed:
            dispatch_after_commit(session, [(admission.video.id, admission.video.model)])
        return Submission(video=admission.video, replayed=admission.replayed, rate_limit=rate)

    def resolve(self, request: VideoRequest) -> VideoParameters:
        """The request checked against the served model and this deployment's rules, defaults
        filled in."""
        model_name = request.model or self.settings.default_model
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
        )
