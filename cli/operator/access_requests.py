"""For the operator: review, approve and reject access applications (`videogen access-requests`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.tiers import tier_catalog
from cli.output import console, domain_errors, emit, err_console, print_secret, when
from videogen.settings import get_settings

if TYPE_CHECKING:
    from videogen.accounts.tables import AccessRequest

access_app = typer.Typer(help="Access applications: review, approve, reject.", no_args_is_help=True)


def _request_row(r: AccessRequest) -> dict[str, str]:
    return {
        "id": r.id,
        "company": r.company,
        "contact_email": r.contact_email,
        "use_case": r.use_case,
        "status": r.status,
        "created_at": when(r.created_at),
        "tier": r.tier or "",
        "organization_id": r.organization_id or "",
    }


@access_app.command("list")
def access_list(
    status: Annotated[str, typer.Option(help='pending, approved or rejected ("" for all).')] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Access applications (pending ones by default)."""
    from videogen.accounts import access_requests
    from videogen.accounts.tables import AccessRequestStatus
    from videogen.database import session_scope

    if status and status not in set(AccessRequestStatus):
        err_console.print(f"[red]Unknown status '{status}': choose pending, approved or rejected.[/red]")
        raise typer.Exit(1)
    wanted = AccessRequestStatus(status) if status else None
    with session_scope(get_settings().database_url) as session:
        rows = [_request_row(r) for r in access_requests.list_requests(session, wanted)]
    emit(rows, as_json, "id", "company", "contact_email", "status", "created_at", "use_case")


@access_app.command("approve")
def access_approve(
    request_id: str,
    tier: Annotated[str, typer.Option(help="Tier of the new organization.")],
    org_name: Annotated[str | None, typer.Option(help="Organization name. Default: the company.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the first key.")] = False,
) -> None:
    """Approve an application: creates the organization on TIER and its first key (shown once)."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        approval = access_requests.approve(session, tier_catalog(), request_id, tier=tier, organization_name=org_name)
        org_label = approval.organization.name
    print_secret(approval.key, org_label, quiet)


@access_app.command("reject")
def access_reject(request_id: str, reason: Annotated[str, typer.Option(help="Why, for the record.")] = "") -> None:
    """Reject an application."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        access_requests.reject(session, request_id, reason)
    console.print(f"rejected {request_id}")
