"""What every operator command acts through: one interface, two implementations, chosen once.

- local (``cli.operator.local``): the domain functions, one unit of work per operation, on the
  database of ``VIDEOGEN_DATABASE_URL`` / ``VIDEOGEN_DATA_DIR``;
- remote (``cli.operator.remote``): the admin API of a deployment, ``--base-url`` /
  ``VIDEOGEN_ADMIN_BASE_URL`` with ``--admin-token`` / ``VIDEOGEN_ADMIN_TOKEN``.

Both return the admin API's wire objects (``api.schemas``), so a command is written once and prints
the same table or JSON whichever way it ran.

Remote mode has its own variable, not the client's ``VIDEOGEN_BASE_URL``: a shell set up to call the
API with ``videogen generate`` would otherwise turn every operator command on that machine into a
call to that API, against a token the client never meant to use there. Choosing remote stays explicit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from cli.output import domain_errors

if TYPE_CHECKING:
    from api.schemas import (
        AccessApproval,
        AccessRequestObject,
        ApiKeyObject,
        OperatorVideoObject,
        OperatorWebhookEndpointObject,
        OrganizationObject,
        QueueList,
        TierObject,
        UsageObject,
        WebhookDeliveryObject,
    )
    from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
    from videogen.videos.tables import VideoStatus

BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar="VIDEOGEN_ADMIN_BASE_URL",
        help="Act through the admin API of this deployment (its API root, e.g. https://videogen.example.com/v1) "
        "instead of a local database.",
        show_default=False,
    ),
]
AdminTokenOption = Annotated[
    str | None,
    typer.Option(
        "--admin-token",
        envvar="VIDEOGEN_ADMIN_TOKEN",
        help="The deployment's admin token (with --base-url).",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class IssuedKey:
    """A key just made (its ``secret`` shown this once) and the organization it belongs to."""

    key: ApiKeyObject
    organization: OrganizationObject


class Operator(Protocol):
    """The operator's operations. Organizations are named by id or name; lists are complete
    (every page), in creation order unless a method says otherwise."""

    def tiers(self) -> list[TierObject]: ...

    def organizations(self) -> list[OrganizationObject]: ...

    def organization(self, org: str) -> OrganizationObject: ...

    def create_organization(self, name: str, tier: str | None) -> OrganizationObject:
        """``tier`` None: the deployment's default tier."""
        ...

    def update_organization(
        self, org: str, *, tier: str | None = None, status: OrganizationStatus | None = None
    ) -> OrganizationObject: ...

    def keys(self, org: str | None) -> list[ApiKeyObject]:
        """One organization's keys, or every organization's (None)."""
        ...

    def create_key(self, org: str, *, name: str, expires_in_seconds: int | None, tier: str | None) -> IssuedKey:
        """A key for ``org``, which is created (on ``tier``, None: the default) if no organization has that name."""
        ...

    def rotate_key(self, key_id: str, *, expires_in_seconds: int | None) -> IssuedKey:
        """A replacement; it expires when the old key does unless ``expires_in_seconds`` says otherwise."""
        ...

    def revoke_key(self, key_id: str) -> ApiKeyObject: ...

    def usage(self, org: str) -> UsageObject: ...

    def access_requests(self, status: AccessRequestStatus | None) -> list[AccessRequestObject]: ...

    def approve(self, request_id: str, *, tier: str, organization_name: str | None) -> AccessApproval: ...

    def reject(self, request_id: str, reason: str) -> AccessRequestObject: ...

    def webhook_endpoints(self, org: str | None) -> list[OperatorWebhookEndpointObject]:
        """Newest first."""
        ...

    def webhook_deliveries(
        self, *, org: str | None, endpoint_id: str | None, video_id: str | None, limit: int
    ) -> list[WebhookDeliveryObject]:
        """The newest ``limit``, newest first."""
        ...

    def redeliver(self, delivery_id: str) -> WebhookDeliveryObject: ...

    def queue(self, window_seconds: int) -> QueueList:
        """Every served model's queue; workers seen within the last ``window_seconds``."""
        ...

    def videos(
        self, *, org: str | None, status: VideoStatus | None, model: str | None, limit: int
    ) -> list[OperatorVideoObject]:
        """Every organization's videos (or one's), the newest ``limit``, newest first."""
        ...

    def video(self, video_id: str) -> OperatorVideoObject: ...


@contextmanager
def operator(base_url: str | None, admin_token: str | None) -> Iterator[Operator]:
    """The implementation the options choose (remote with a base URL, else local), for one command.

    What goes wrong, a domain error or the database or API out of reach, ends the command with one
    line and exit status 1.
    """
    with domain_errors():
        if base_url:
            from cli.operator.remote import RemoteOperator

            with RemoteOperator.connect(base_url, admin_token) as remote:
                yield remote
        else:
            from cli.operator.local import LocalOperator
            from videogen.settings import get_settings

            yield LocalOperator(get_settings())
