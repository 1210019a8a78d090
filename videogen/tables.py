"""Every table of the schema, in one place: what Alembic compares the migrations with.

Each domain owns its tables (``videogen.videos.tables``, ``videogen.accounts.tables``,
``videogen.webhooks.tables``); importing them here registers them all on ``Base.metadata``.
"""

from videogen.accounts.tables import AccessRequest, ApiKey, Organization
from videogen.database import Base
from videogen.videos.tables import IdempotencyKey, Video
from videogen.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

metadata = Base.metadata

__all__ = [
    "AccessRequest",
    "ApiKey",
    "Base",
    "IdempotencyKey",
    "Organization",
    "Video",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "metadata",
]
