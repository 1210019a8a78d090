"""For the operator: webhook endpoints and the delivery log across organizations (`videogen webhooks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import console, domain_errors, emit, when
from videogen.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

webhooks_app = typer.Typer(help="Webhook endpoints and the delivery log (operator view).", no_args_is_help=True)


def _org_id(session: Session, org: str | None) -> str | None:
    from videogen.accounts import organizations

    return organizations.find_organization(session, org).id if org else None


@webhooks_app.command("endpoints")
def webhooks_endpoints(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Webhook endpoints, with their health: disabled ones say why."""
    from videogen.database import session_scope
    from videogen.webhooks import endpoints

    with domain_errors(), session_scope(get_settings().database_url) as session:
        rows = [
            {
                "id": e.id,
                "organization_id": e.organization_id,
                "url": e.url,
                "event_types": ",".join(e.event_types),
                "status": "enabled" if e.enabled else "disabled",
                "failing_since": when(e.failing_since),
                "disabled_reason": e.disabled_reason or "",
            }
            for e in endpoints.list_endpoints(session, _org_id(session, org), limit=1000).items
        ]
    emit(rows, as_json, "id", "organization_id", "url", "event_types", "status", "failing_since", "disabled_reason")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    endpoint: Annotated[str | None, typer.Option(help="Only deliveries to this endpoint.")] = None,
    video: Annotated[str | None, typer.Option(help="Only deliveries about this video.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")] = None,
    limit: Annotated[int, typer.Option(help="Newest N.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with every attempt.")] = False,
) -> None:
    """The delivery log: status, attempts, last answer, next retry."""
    from videogen.database import session_scope
    from videogen.webhooks import deliveries
    from videogen.webhooks.tables import WebhookDeliveryStatus

    with domain_errors(), session_scope(get_settings().database_url) as session:
        page = deliveries.list_deliveries(
            session, _org_id(session, org), endpoint_id=endpoint, video_id=video, limit=limit
        )
        rows = [
            {
                "id": d.id,
                "event_type": d.event.type,
                "video_id": d.event.video_id,
                "url": d.url,
                "status": d.status,
                "attempts": str(d.attempts),
                "last_status_code": str(d.last_status_code or ""),
                "last_error": d.last_error or "",
                "next_attempt_at": when(d.next_attempt_at) if d.status == WebhookDeliveryStatus.PENDING else "",
                "attempt_log": [
                    {
                        "attempted_at": when(a.attempted_at),
                        "status_code": a.status_code,
                        "latency_ms": a.latency_ms,
                        "error": a.error,
                    }
                    for a in d.attempt_log
                ],
            }
            for d in page.items
        ]
    if not as_json:
        for row in rows:
            row.pop("attempt_log")
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
def webhooks_redeliver(delivery_id: str) -> None:
    """Send a delivery again now (same webhook-id, fresh retry schedule)."""
    from videogen import broker
    from videogen.database import session_scope
    from videogen.webhooks import deliveries

    settings = get_settings()
    broker.enable(settings)  # the delivery is announced to the webhook workers once this commits
    with domain_errors(), session_scope(settings.database_url) as session:
        deliveries.redeliver(session, deliveries.get_delivery(session, None, delivery_id))
    console.print(f"{delivery_id} queued for redelivery")
