"""The operator's operations through a deployment's admin API (``/v1/admin``), over HTTP with httpx.

Each operation is the admin route of the same name; answers are parsed into the same wire objects
the local side builds, so commands print the same either way. Anything that is not an answer (the
API unreachable, a refusal, a proxy's error page) becomes one ``CommandError`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from api.schemas import (
    AccessApproval,
    AccessRequestList,
    AccessRequestObject,
    ApiKeyList,
    ApiKeyObject,
    OperatorVideoList,
    OperatorVideoObject,
    OperatorWebhookEndpointList,
    OperatorWebhookEndpointObject,
    OrganizationList,
    OrganizationObject,
    QueueList,
    TierList,
    TierObject,
    UsageObject,
    WebhookDeliveryList,
    WebhookDeliveryObject,
)
from cli.operator.backend import IssuedKey
from cli.output import CommandError, cause, sendable_token
from videogen.accounts.tables import AccessRequestStatus, OrganizationStatus
from videogen.videos.tables import VideoStatus

ModelT = TypeVar("ModelT", bound=BaseModel)

PAGE_SIZE = 100  # the most the admin lists give at once
REQUEST_TIMEOUT_SECONDS = 30


def admin_root(base_url: str) -> str:
    """``https://host/v1/admin`` from the API root, given with or without its ``/v1``."""
    root = base_url.strip().rstrip("/")
    return f"{root if root.endswith('/v1') else root + '/v1'}/admin"


def _segment(value: str) -> str:
    """An id or name as one path segment (an organization's name may hold spaces or slashes)."""
    return quote(value, safe="")


class RemoteOperator:
    """``cli.operator.backend.Operator`` through the admin API at ``base_url``."""

    def __init__(self, http: httpx.Client, root: str) -> None:
        self._http = http
        self._root = root

    @classmethod
    @contextmanager
    def connect(cls, base_url: str, admin_token: str | None) -> Iterator[RemoteOperator]:
        token = (admin_token or "").strip()
        if not token:
            raise CommandError(
                "--base-url needs the deployment's admin token: set VIDEOGEN_ADMIN_TOKEN or --admin-token."
            )
        if not sendable_token(token):
            raise CommandError("the admin token holds spaces or characters no token has: check VIDEOGEN_ADMIN_TOKEN.")
        root = admin_root(base_url)
        if not re.match(r"https?://[^/]", root):
            raise CommandError(f"--base-url {base_url!r} is not an http:// or https:// URL.")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=root, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS) as http:
            yield cls(http, root)

    # --- HTTP ----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, params=query, json=json)
        except httpx.TimeoutException:
            raise CommandError(
                f"the admin API at {self._root} did not answer within {REQUEST_TIMEOUT_SECONDS} s."
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CommandError(f"cannot reach the admin API at {self._root}: {cause(exc)}.") from None
        if response.status_code >= 400:
            raise Refusal(response)
        try:
            return response.json()
        except ValueError:
            raise CommandError(
                f"{self._root} answered HTTP {response.status_code} without JSON: is --base-url a videogen API?"
            ) from None

    def _one(self, model: type[ModelT], method: str, path: str, **kwargs: Any) -> ModelT:
        body = self._call(method, path, **kwargs)
        try:
            return model.model_validate(body)
        except ValidationError:
            raise CommandError(
                f"{self._root}{path} answered with something other than a {model.__name__}: "
                "is --base-url a videogen API of this version?"
            ) from None

    def _all(self, model: type[ModelT], path: str, params: dict[str, Any], limit: int | None = None) -> list[Any]:
        """Every item of a cursor list (or the first ``limit``), following ``has_more`` / ``last_id``."""
        items: list[Any] = []
        after: str | None = None
        while limit is None or len(items) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(items))
            page: Any = self._one(model, "GET", path, params={**params, "after": after, "limit": size})
            items += page.data
            if not page.has_more or not page.data:
                break
            after = page.last_id
        return items

    # --- tiers and organizations ---------------------------------------------------------------

    def tiers(self) -> list[TierObject]:
        return self._one(TierList, "GET", "/tiers").data

    def organizations(self) -> list[OrganizationObject]:
        return self._all(OrganizationList, "/organizations", {"order": "asc"})

    def organization(self, org: str) -> OrganizationObject:
        return self._one(OrganizationObject, "GET", f"/organizations/{_segment(org)}")

    def create_organization(self, name: str, tier: str | None) -> OrganizationObject:
        body = {"name": name} | ({"tier": tier} if tier else {})
        return self._one(OrganizationObject, "POST", "/organizations", json=body)

    def update_organization(
        self, org: str, *, tier: str | None = None, status: OrganizationStatus | None = None
    ) -> OrganizationObject:
        body = {k: v for k, v in {"tier": tier, "status": status}.items() if v is not None}
        return self._one(OrganizationObject, "PATCH", f"/organizations/{_segment(org)}", json=body)

    # --- keys ----------------------------------------------------------------------------------

    def keys(self, org: str | None) -> list[ApiKeyObject]:
        return self._all(ApiKeyList, "/keys", {"organization": org, "order": "asc"})

    def create_key(self, org: str, *, name: str, expires_in_seconds: int | None, tier: str | None) -> IssuedKey:
        owner = self._find_or_create(org, tier)
        body = {"name": name, "expires_in_seconds": expires_in_seconds}
        return IssuedKey(self._one(ApiKeyObject, "POST", f"/organizations/{owner.id}/keys", json=body), owner)

    def _find_or_create(self, org: str, tier: str | None) -> OrganizationObject:
        try:
            return self.organization(org)
        except Refusal as exc:
            if exc.status_code != 404:
                raise
        try:
            return self.create_organization(org, tier)
        except Refusal as exc:
            if exc.status_code != 409:
                raise
            return self.organization(org)  # created meanwhile by someone else

    def rotate_key(self, key_id: str, *, expires_in_seconds: int | None) -> IssuedKey:
        body = {"expires_in_seconds": expires_in_seconds} if expires_in_seconds else None
        key = self._one(ApiKeyObject, "POST", f"/keys/{_segment(key_id)}/rotate", json=body)
        return IssuedKey(key, self.organization(key.organization_id))

    def revoke_key(self, key_id: str) -> ApiKeyObject:
        return self._one(ApiKeyObject, "POST", f"/keys/{_segment(key_id)}/revoke")

    def usage(self, org: str) -> UsageObject:
        return self._one(UsageObject, "GET", f"/organizations/{_segment(org)}/usage")

    # --- access applications -------------------------------------------------------------------

    def access_requests(self, status: AccessRequestStatus | None) -> list[AccessRequestObject]:
        return self._all(AccessRequestList, "/access_requests", {"status": status, "order": "asc"})

    def approve(self, request_id: str, *, tier: str, organization_name: str | None) -> AccessApproval:
        body = {"tier": tier} | ({"organization_name": organization_name} if organization_name else {})
        return self._one(AccessApproval, "POST", f"/access_requests/{_segment(request_id)}/approve", json=body)

    def reject(self, request_id: str, reason: str) -> AccessRequestObject:
        path = f"/access_requests/{_segment(request_id)}/reject"
        return self._one(AccessRequestObject, "POST", path, json={"reason": reason})

    # --- webhooks ------------------------------------------------------------------------------

    def webhook_endpoints(self, org: str | None) -> list[OperatorWebhookEndpointObject]:
        return self._all(OperatorWebhookEndpointList, "/webhook_endpoints", {"organization": org})

    def webhook_deliveries(
        self, *, org: str | None, endpoint_id: str | None, video_id: str | None, limit: int
    ) -> list[WebhookDeliveryObject]:
        params = {"organization": org, "webhook_endpoint_id": endpoint_id, "video_id": video_id}
        return self._all(WebhookDeliveryList, "/webhook_deliveries", params, limit=limit)

    def redeliver(self, delivery_id: str) -> WebhookDeliveryObject:
        return self._one(WebhookDeliveryObject, "POST", f"/webhook_deliveries/{_segment(delivery_id)}/redeliver")

    # --- jobs ----------------------------------------------------------------------------------

    def queue(self, window_seconds: int) -> QueueList:
        return self._one(QueueList, "GET", "/queue", params={"window_seconds": window_seconds})

    def videos(
        self, *, org: str | None, status: VideoStatus | None, model: str | None, limit: int
    ) -> list[OperatorVideoObject]:
        params = {"organization": org, "status": status, "model": model}
        return self._all(OperatorVideoList, "/videos", params, limit=limit)

    def video(self, video_id: str) -> OperatorVideoObject:
        return self._one(OperatorVideoObject, "GET", f"/videos/{_segment(video_id)}")


class Refusal(CommandError):
    """An error answer, as one line: the API's own message, or the start of whatever else came back."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            error = response.json()["error"]
            message, code = str(error["message"]), error.get("code")
        except (ValueError, KeyError, TypeError):
            message, code = " ".join(response.text.split())[:200] or response.reason_phrase, None
        super().__init__(f"HTTP {response.status_code} from the admin API: {message}" + (f" ({code})" if code else ""))
        self.status_code = response.status_code
