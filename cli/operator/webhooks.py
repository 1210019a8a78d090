"""For the operator: webhook endpoints and the delivery log across organizations (`videogen webhooks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import console, emit, timestamp

if TYPE_CHECKING:
    from api.schemas import OperatorWebhookEndpointObject, WebhookDeliveryObject

webhooks_app = typer.Typer(help="Webhook endpoints and the delivery log (operator view).", no_args_is_help=True)

OrgFilter = Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")]


def endpoint_row(e: OperatorWebhookEndpointObject) -> dict[str, str]:
    return {
        "id": e.id,
        "organization_id": e.organization_id,
        "url": e.url,
        "event_types": ",".join(e.event_types),
        "status": e.status,
        "failing_since": timestamp(e.failing_since),
        "disabled_reason": e.disabled_reason or "",
    }


def delivery_row(d: WebhookDeliveryObject, with_attempts: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": d.id,
        "event_type": d.event_type,
        "video_id": d.video_id,
        "url": d.url,
        "status": d.status,
        "attempts": str(d.attempts),
        "last_status_code": str(d.last_status_code or ""),
        "last_error": d.last_error or "",
        "next_attempt_at": timestamp(d.next_attempt_at),
    }
    if with_attempts:
        row["attempt_log"] = [
            {
                "attempted_at": timestamp(a.attempted_at),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in d.attempt_log
        ]
    return row


@webhooks_app.command("endpoints")
def webhooks_endpoints(
    org: OrgFilter = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Webhook endpoints, newest first, with their health: disabled ones say why."""
    with operator(base_url, admin_token) as ops:
        rows = [endpoint_row(e) for e in ops.webhook_endpoints(org)]
    emit(rows, as_json, "id", "organization_id", "url", "event_types", "status", "failing_since", "disabled_reason")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    endpoint: Annotated[str | None, typer.Option(help="Only deliveries to this endpoint.")] = None,
    video: Annotated[str | None, typer.Option(help="Only deliveries about this video.")] = None,
    org: OrgFilter = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with every attempt.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """The delivery log, newest first: status, attempts, last answer, next retry."""
    with operator(base_url, admin_token) as ops:
        found = ops.webhook_deliveries(org=org, endpoint_id=endpoint, video_id=video, limit=limit)
    rows = [delivery_row(d, with_attempts=as_json) for d in found]
    columns = (
        "id",
        "event_type",
        "video_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
    )
    emit(rows, as_json, *columns)


@webhooks_app.command("redeliver")
def webhooks_redeliver(delivery_id: str, base_url: BaseUrlOption = None, admin_token: AdminTokenOption = None) -> None:
    """Send a delivery again now (same webhook-id, fresh retry schedule)."""
    with operator(base_url, admin_token) as ops:
        ops.redeliver(delivery_id)
    console.print(f"{delivery_id} queued for redelivery", highlight=False)
