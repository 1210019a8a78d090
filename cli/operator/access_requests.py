"""For the operator: review, approve and reject access applications (`videogen access-requests`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import CommandError, console, emit, print_secret, timestamp

if TYPE_CHECKING:
    from api.schemas import AccessRequestObject

access_app = typer.Typer(help="Access applications: review, approve, reject.", no_args_is_help=True)


def request_row(r: AccessRequestObject) -> dict[str, str]:
    return {
        "id": r.id,
        "company": r.company,
        "contact_email": r.contact_email,
        "use_case": r.use_case,
        "status": r.status,
        "created_at": timestamp(r.created_at),
        "tier": r.tier or "",
        "organization_id": r.organization_id or "",
    }


@access_app.command("list")
def access_list(
    status: Annotated[str, typer.Option(help='pending, approved or rejected ("" for all).')] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Access applications (pending ones by default), oldest first."""
    from videogen.accounts.tables import AccessRequestStatus

    with operator(base_url, admin_token) as ops:
        if status and status not in set(AccessRequestStatus):
            raise CommandError(f"unknown status '{status}': choose pending, approved or rejected.")
        rows = [request_row(r) for r in ops.access_requests(AccessRequestStatus(status) if status else None)]
    emit(rows, as_json, "id", "company", "contact_email", "status", "created_at", "use_case")


@access_app.command("approve")
def access_approve(
    request_id: str,
    tier: Annotated[str, typer.Option(help="Tier of the new organization.")],
    org_name: Annotated[str | None, typer.Option(help="Organization name. Default: the company.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the first key.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Approve an application: creates the organization on TIER and its first key (shown once)."""
    with operator(base_url, admin_token) as ops:
        approval = ops.approve(request_id, tier=tier, organization_name=org_name)
    print_secret(approval.api_key, approval.organization.name, quiet)


@access_app.command("reject")
def access_reject(
    request_id: str,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Reject an application."""
    with operator(base_url, admin_token) as ops:
        ops.reject(request_id, reason)
    console.print(f"rejected {request_id}", highlight=False)
