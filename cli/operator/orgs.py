"""For the operator: organizations, their tier and suspension (`videogen orgs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.tiers import tier_catalog
from cli.output import console, domain_errors, emit, when
from videogen.settings import get_settings

if TYPE_CHECKING:
    from videogen.accounts.tables import Organization

orgs_app = typer.Typer(help="Organizations: tiers and suspension.", no_args_is_help=True)


def _org_row(org: Organization) -> dict[str, str]:
    return {
        "id": org.id,
        "name": org.name,
        "tier": org.tier,
        "status": org.status,
        "created_at": when(org.created_at),
        "suspended_at": when(org.suspended_at),
    }


@orgs_app.command("create")
def orgs_create(name: str, tier: Annotated[str, typer.Option(help="Tier name (see `videogen tiers list`).")]) -> None:
    """Create an organization on a tier."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        org = organizations.create_organization(session, tier_catalog(), name, tier)
    console.print(f"created {org.id} ({name}, tier {tier})")


@orgs_app.command("list")
def orgs_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """List organizations with their tier and status."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with session_scope(get_settings().database_url) as session:
        rows = [_org_row(o) for o in organizations.list_organizations(session)]
    emit(rows, as_json, "id", "name", "tier", "status", "created_at")


@orgs_app.command("set-tier")
def orgs_set_tier(org: str, tier: str) -> None:
    """Move an organization (id or name) to another tier; applies from its next request."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        organizations.set_tier(session, tier_catalog(), organizations.find_organization(session, org), tier)
    console.print(f"{org} is now on tier {tier}")


@orgs_app.command("suspend")
def orgs_suspend(org: str) -> None:
    """Suspend an organization: its keys get 403 at once and its queued jobs do not start."""
    from videogen.accounts import organizations
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        organizations.suspend(session, organizations.find_organization(session, org))
    console.print(f"suspended {org}")


@orgs_app.command("activate")
def orgs_activate(org: str) -> None:
    """Lift a suspension; the organization's queued jobs are sent to the workers again."""
    from videogen import broker
    from videogen.accounts import organizations
    from videogen.database import session_scope

    settings = get_settings()
    broker.enable(settings)  # the organization's waiting jobs are announced once this commits
    with domain_errors(), session_scope(settings.database_url) as session:
        organizations.reactivate(session, organizations.find_organization(session, org))
    console.print(f"activated {org}")
