"""The operator's operations on the local database: the domain functions, one unit of work each.

Nothing here creates a database: an operator command run from the wrong directory would otherwise
make an empty SQLite file there and fail on its missing tables. ``check_database`` says where it
looked and what to do instead (``videogen dev`` and ``videogen db upgrade`` are the commands that
create one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

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
from api.serializers import (
    access_request_object,
    api_key_object,
    operator_video_objects,
    operator_webhook_endpoint_object,
    organization_object,
    queue_list,
    tier_object,
    usage_object,
    webhook_delivery_object,
)
from cli.operator.backend import IssuedKey
from cli.output import CommandError, redact
from videogen import broker
from videogen.accounts import access_requests, api_keys, organizations
from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.accounts.tiers import TierCatalog, load_tiers
from videogen.accounts.usage import usage_report
from videogen.database import get_engine, session_scope, utcnow
from videogen.pagination import Page
from videogen.settings import Settings
from videogen.videos import operator_view
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.stats import queue_report
from videogen.videos.tables import VideoStatus
from videogen.webhooks import deliveries, endpoints


class _Row(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Row)

WHAT_TO_DO = (
    "set VIDEOGEN_DATA_DIR or VIDEOGEN_DATABASE_URL to the deployment's, run from the directory it was set up in, "
    "create it with `videogen db upgrade`, or act on a deployment through its admin API with --base-url"
)


def check_database(settings: Settings) -> None:
    """Raise ``CommandError`` unless ``settings.database_url`` is a reachable, migrated videogen database.

    Looks without creating anything: a SQLite file that is not there is not opened (opening would
    create it), and the schema must carry Alembic's version table.
    """
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise CommandError(f"VIDEOGEN_DATABASE_URL is not a database URL: {WHAT_TO_DO}.") from None
    shown = redact(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "").absolute()
        if not path.is_file():
            raise CommandError(f"no videogen database at {path} (seen from {Path.cwd()}): {WHAT_TO_DO}.")
        shown = str(path)
    try:
        with get_engine(settings.database_url).connect() as connection:
            migrated = inspect(connection).has_table("alembic_version")
            version = (
                connection.exec_driver_sql("SELECT version_num FROM alembic_version").first() if migrated else None
            )
    except DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
        raise CommandError(f"cannot reach the database at {shown}: {reason}. Check VIDEOGEN_DATABASE_URL.") from None
    if version is None:
        raise CommandError(f"the database at {shown} holds no videogen schema (not migrated): {WHAT_TO_DO}.")


class LocalOperator:
    """``cli.operator.backend.Operator`` on this machine's database."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._checked = False

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        """A unit of work on the database, once it is known to be there."""
        if not self._checked:
            check_database(self._settings)
            self._checked = True
        with session_scope(self._settings.database_url) as session:
            yield session

    def _tiers(self) -> TierCatalog:
        return load_tiers(self._settings.tiers_file)

    def _announcing(self) -> None:
        """Let what a commit dispatches (jobs of a reactivated organization, a redelivery) reach the workers."""
        broker.enable(self._settings)

    # --- tiers and organizations ---------------------------------------------------------------

    def tiers(self) -> list[TierObject]:
        return [tier_object(t) for t in self._tiers().all()]  # the tiers file: no database needed

    def organizations(self) -> list[OrganizationObject]:
        with self._unit() as session:
            found = _every(lambda after: organizations.list_organizations(session, after=after))
            return [organization_object(o) for o in found]

    def organization(self, org: str) -> OrganizationObject:
        with self._unit() as session:
            return organization_object(organizations.find_organization(session, org))

    def create_organization(self, name: str, tier: str | None) -> OrganizationObject:
        with self._unit() as session:
            created = organizations.create_organization(
                session, self._tiers(), name, tier or self._settings.default_tier
            )
            return organization_object(created)

    def update_organization(
        self, org: str, *, tier: str | None = None, status: OrganizationStatus | None = None
    ) -> OrganizationObject:
        if status is not None:
            self._announcing()
        with self._unit() as session:
            found = organizations.find_organization(session, org)
            organizations.update_organization(session, self._tiers(), found, tier=tier, status=status)
            return organization_object(found)

    # --- keys ----------------------------------------------------------------------------------

    def keys(self, org: str | None) -> list[ApiKeyObject]:
        with self._unit() as session:
            org_id = organizations.find_organization(session, org).id if org else None
            found = _every(lambda after: api_keys.list_api_keys(session, org_id, after=after))
            return [api_key_object(k) for k in found]

    def create_key(self, org: str, *, name: str, expires_in_seconds: int | None, tier: str | None) -> IssuedKey:
        with self._unit() as session:
            owner = organizations.get_or_create_organization(
                session, self._tiers(), org, tier or self._settings.default_tier
            )
            created = api_keys.create_api_key(session, owner, name, api_keys.expiry_after(expires_in_seconds))
            return IssuedKey(api_key_object(created.api_key, created.secret), organization_object(owner))

    def rotate_key(self, key_id: str, *, expires_in_seconds: int | None) -> IssuedKey:
        with self._unit() as session:
            created = api_keys.rotate_api_key(session, key_id, api_keys.expiry_after(expires_in_seconds))
            owner = created.api_key.organization
            return IssuedKey(api_key_object(created.api_key, created.secret), organization_object(owner))

    def revoke_key(self, key_id: str) -> ApiKeyObject:
        with self._unit() as session:
            return api_key_object(api_keys.revoke_api_key(session, key_id))

    def usage(self, org: str) -> UsageObject:
        with self._unit() as session:
            found = organizations.find_organization(session, org)
            return usage_object(usage_report(session, found, self._tiers().of(found), None, None))

    # --- access applications -------------------------------------------------------------------

    def access_requests(self, status: AccessRequestStatus | None) -> list[AccessRequestObject]:
        with self._unit() as session:
            found = _every(lambda after: access_requests.list_requests(session, status, after=after))
            return [access_request_object(r) for r in found]

    def approve(self, request_id: str, *, tier: str, organization_name: str | None) -> AccessApproval:
        with self._unit() as session:
            approval = access_requests.approve(
                session, self._tiers(), request_id, tier=tier, organization_name=organization_name
            )
            return AccessApproval(
                access_request=access_request_object(approval.request),
                organization=organization_object(approval.organization),
                api_key=api_key_object(approval.key.api_key, approval.key.secret),
            )

    def reject(self, request_id: str, reason: str) -> AccessRequestObject:
        with self._unit() as session:
            return access_request_object(access_requests.reject(session, request_id, reason))

    # --- webhooks ------------------------------------------------------------------------------

    def webhook_endpoints(self, org: str | None) -> list[OperatorWebhookEndpointObject]:
        with self._unit() as session:
            org_id = organizations.find_organization(session, org).id if org else None
            found = _every(lambda after: endpoints.list_endpoints(session, org_id, after=after))
            return [operator_webhook_endpoint_object(e) for e in found]

    def webhook_deliveries(
        self, *, org: str | None, endpoint_id: str | None, video_id: str | None, limit: int
    ) -> list[WebhookDeliveryObject]:
        with self._unit() as session:
            org_id = organizations.find_organization(session, org).id if org else None
            page = deliveries.list_deliveries(session, org_id, endpoint_id=endpoint_id, video_id=video_id, limit=limit)
            return [webhook_delivery_object(d) for d in page.items]

    def redeliver(self, delivery_id: str) -> WebhookDeliveryObject:
        self._announcing()
        with self._unit() as session:
            delivery = deliveries.get_delivery(session, None, delivery_id)
            return webhook_delivery_object(deliveries.redeliver(session, delivery))

    # --- jobs ----------------------------------------------------------------------------------

    def queue(self, window_seconds: int) -> QueueList:
        with self._unit() as session:
            now = utcnow()
            queues = queue_report(session, self._settings.models, now, timedelta(seconds=window_seconds))
            return queue_list(queues, window_seconds, now)

    def videos(
        self, *, org: str | None, status: VideoStatus | None, model: str | None, limit: int
    ) -> list[OperatorVideoObject]:
        with self._unit() as session:
            org_id = organizations.find_organization(session, org).id if org else None
            page = operator_view.list_all_videos(session, org_id, status=status, model=model, after=None, limit=limit)
            return operator_video_objects(session, page.items, self._positions())

    def video(self, video_id: str) -> OperatorVideoObject:
        with self._unit() as session:
            found = operator_view.get_any_video(session, video_id)
            return operator_video_objects(session, [found], self._positions())[0]

    def _positions(self) -> QueuePositions:
        """Queue positions read now (one command, nothing to keep a snapshot for), as exact as the API's."""
        return QueuePositions(exact_within=self._settings.queue_position_exact_within, max_age_seconds=0)


def _every(page_after: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paginated domain list, page by page (as the remote side walks the API's pages)."""
    items: list[T] = []
    after: str | None = None
    while True:
        page = page_after(after)
        items += page.items
        if not page.has_more or not page.items:
            return items
        after = page.items[-1].id
