"""Signing secrets and signatures, per the Standard Webhooks spec.

Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``; secrets ``whsec_<base64>``,
so receivers verify with the ``standardwebhooks`` library or the ``openai`` SDK. An endpoint has
its own secret; deliveries to a video's own ``webhook_url`` are signed with the organization's.
Secrets are stored encrypted (``videogen.secret_box``) and shown once. A rotation may keep the old
secret signing for an overlap, so receivers can switch without missing an event.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from videogen.accounts.tables import Organization
from videogen.database import utcnow
from videogen.errors import InvalidRequestError, NotFoundError
from videogen.secret_box import SecretBox
from videogen.webhooks.tables import WebhookEndpoint

MAX_ROTATION_OVERLAP = timedelta(days=7)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_hint(secret: str) -> str:
    """Enough of a secret to tell which one a receiver has, not enough to sign with."""
    return f"{secret[:10]}…{secret[-4:]}"


def signature_headers(
    message_id: str, timestamp: datetime, body: str, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers. During a rotation's overlap there are several secrets
    and one signature per secret, space-separated: receivers with either secret verify."""
    signatures = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in signing_secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }


def _active_secrets(
    box: SecretBox, current: str | None, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    found = [box.decrypt(current)] if current else []
    if previous and previous_expires_at is not None and previous_expires_at > now:
        found.append(box.decrypt(previous))
    return found


def endpoint_secrets(box: SecretBox, endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    return _active_secrets(
        box,
        endpoint.secret_ciphertext,
        endpoint.previous_secret_ciphertext,
        endpoint.previous_secret_expires_at,
        now or utcnow(),
    )


def organization_secrets(box: SecretBox, org: Organization, now: datetime | None = None) -> list[str]:
    return _active_secrets(
        box,
        org.webhook_secret_ciphertext,
        org.webhook_previous_secret_ciphertext,
        org.webhook_previous_secret_expires_at,
        now or utcnow(),
    )


def check_overlap(overlap: timedelta) -> timedelta:
    if not timedelta(0) <= overlap <= MAX_ROTATION_OVERLAP:
        raise InvalidRequestError(
            f"The overlap of a secret rotation must be between 0 and {MAX_ROTATION_OVERLAP.days} days.",
            param="overlap_seconds",
        )
    return overlap


@dataclass(frozen=True)
class OrganizationSecret:
    secret: str | None  # only right after creation or rotation
    hint: str
    created_at: datetime
    previous_secret_expires_at: datetime | None


def rotate_organization_secret(
    session: Session, box: SecretBox, org: Organization, overlap: timedelta
) -> OrganizationSecret:
    """Create (or replace) the secret that signs deliveries to videos' own ``webhook_url``.

    With an overlap, the old secret keeps signing alongside the new one until it passes."""
    now = utcnow()
    overlap = check_overlap(overlap)
    secret = new_signing_secret()
    if org.webhook_secret_ciphertext and overlap:
        org.webhook_previous_secret_ciphertext = org.webhook_secret_ciphertext
        org.webhook_previous_secret_expires_at = now + overlap
    else:
        org.webhook_previous_secret_ciphertext = None
        org.webhook_previous_secret_expires_at = None
    org.webhook_secret_ciphertext = box.encrypt(secret)
    org.webhook_secret_hint = secret_hint(secret)
    org.webhook_secret_created_at = now
    session.flush()
    return OrganizationSecret(secret, org.webhook_secret_hint, now, org.webhook_previous_secret_expires_at)


def organization_secret(org: Organization) -> OrganizationSecret:
    if not org.webhook_secret_ciphertext or org.webhook_secret_created_at is None:
        raise NotFoundError(
            "Your organization has no webhook signing secret yet; create one with POST /v1/webhook_secret.",
            code="webhook_secret_missing",
        )
    return OrganizationSecret(
        None, org.webhook_secret_hint or "", org.webhook_secret_created_at, org.webhook_previous_secret_expires_at
    )
