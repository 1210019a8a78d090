"""For the operator: create, rotate, list and revoke API keys (`videogen keys`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from cli.operator.tiers import tier_catalog
from cli.output import console, domain_errors, print_secret, when
from videogen.settings import get_settings

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="Organization name; created if it does not exist.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    tier: Annotated[
        str | None, typer.Option(help="Tier of a new organization. Default: VIDEOGEN_DEFAULT_TIER.")
    ] = None,
    expires_in_days: Annotated[float | None, typer.Option(help="The key stops working after this many days.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key.")] = False,
) -> None:
    """Create an API key. The key is printed once and never stored in clear."""
    from videogen.accounts import api_keys, organizations
    from videogen.database import session_scope, utcnow

    settings = get_settings()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with domain_errors(), session_scope(settings.database_url) as session:
        organization = organizations.get_or_create_organization(
            session, tier_catalog(), org, tier or settings.default_tier
        )
        created = api_keys.create_api_key(session, organization, name, expires_at)
    print_secret(created, org, quiet)


@keys_app.command("rotate")
def keys_rotate(
    key_id: str, quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key.")] = False
) -> None:
    """Create a replacement key; the old one keeps working until you revoke it."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        created = api_keys.rotate_api_key(session, key_id)
        org_name = created.api_key.organization.name
    print_secret(created, org_name, quiet)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, for scripts.")] = False,
) -> None:
    """List API keys (prefixes only)."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    table = Table("id", "organization", "name", "prefix", "created", "last used", "revoked")
    with session_scope(get_settings().database_url) as session:
        for key in api_keys.list_api_keys(session, org):
            row = {
                "id": key.id,
                "organization": key.organization.name,
                "name": key.name,
                "prefix": key.prefix,
                "created_at": when(key.created_at),
                "last_used_at": when(key.last_used_at),
                "revoked_at": when(key.revoked_at),
            }
            if as_json:
                print(json.dumps(row))
            else:
                table.add_row(*(v + "…" if k == "prefix" else v for k, v in row.items()))
    if not as_json:
        console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key at once: its next request gets 401."""
    from videogen.accounts import api_keys
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        api_keys.revoke_api_key(session, key_id)
    console.print(f"revoked {key_id}")
