"""For the operator: organizations, their tier and suspension (`videogen orgs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import console, emit, timestamp

if TYPE_CHECKING:
    from api.schemas import OrganizationObject

orgs_app = typer.Typer(help="Organizations: tiers and suspension.", no_args_is_help=True)


def org_row(org: OrganizationObject) -> dict[str, str]:
    return {
        "id": org.id,
        "name": org.name,
        "tier": org.tier,
        "status": org.status,
        "created_at": timestamp(org.created_at),
        "suspended_at": timestamp(org.suspended_at),
    }


@orgs_app.command("create")
def orgs_create(
    name: str,
    tier: Annotated[str, typer.Option(help="Tier name (see `videogen tiers list`).")],
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Create an organization on a tier."""
    with operator(base_url, admin_token) as ops:
        org = ops.create_organization(name, tier)
    console.print(f"created {org.id} ({org.name}, tier {org.tier})", highlight=False)


@orgs_app.command("list")
def orgs_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List organizations with their tier and status."""
    with operator(base_url, admin_token) as ops:
        rows = [org_row(o) for o in ops.organizations()]
    emit(rows, as_json, "id", "name", "tier", "status", "created_at")


@orgs_app.command("set-tier")
def orgs_set_tier(org: str, tier: str, base_url: BaseUrlOption = None, admin_token: AdminTokenOption = None) -> None:
    """Move an organization (id or name) to another tier; applies from its next request."""
    with operator(base_url, admin_token) as ops:
        ops.update_organization(org, tier=tier)
    console.print(f"{org} is now on tier {tier}", highlight=False)


@orgs_app.command("suspend")
def orgs_suspend(org: str, base_url: BaseUrlOption = None, admin_token: AdminTokenOption = None) -> None:
    """Suspend an organization: its keys get 403 at once and its queued jobs do not start."""
    from videogen.accounts.tables import OrganizationStatus

    with operator(base_url, admin_token) as ops:
        ops.update_organization(org, status=OrganizationStatus.SUSPENDED)
    console.print(f"suspended {org}", highlight=False)


@orgs_app.command("activate")
def orgs_activate(org: str, base_url: BaseUrlOption = None, admin_token: AdminTokenOption = None) -> None:
    """Lift a suspension; the organization's queued jobs are sent to the workers again."""
    from videogen.accounts.tables import OrganizationStatus

    with operator(base_url, admin_token) as ops:
        ops.update_organization(org, status=OrganizationStatus.ACTIVE)
    console.print(f"activated {org}", highlight=False)
