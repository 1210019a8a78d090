"""For the operator: create, rotate, list and revoke API keys (`videogen keys`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import CommandError, console, emit, print_secret, timestamp

if TYPE_CHECKING:
    from api.schemas import ApiKeyObject

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

SECONDS_PER_DAY = 86400
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key.")]


def lifetime_seconds(days: float | None) -> int | None:
    """``--expires-in-days`` as the admin API's ``expires_in_seconds`` (whole seconds, up to a century)."""
    from videogen.accounts.api_keys import MAX_KEY_LIFETIME_SECONDS

    if days is None:
        return None
    seconds = round(days * SECONDS_PER_DAY) if math.isfinite(days) else 0
    if not 1 <= seconds <= MAX_KEY_LIFETIME_SECONDS:
        most = MAX_KEY_LIFETIME_SECONDS // SECONDS_PER_DAY
        raise CommandError(f"--expires-in-days must be more than 0 and at most {most} days (got {days:g}).")
    return seconds


def key_row(key: ApiKeyObject, organization_name: str) -> dict[str, str]:
    return {
        "id": key.id,
        "organization_id": key.organization_id,
        "organization": organization_name,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": timestamp(key.created_at),
        "last_used_at": timestamp(key.last_used_at),
        "expires_at": timestamp(key.expires_at),
        "revoked_at": timestamp(key.revoked_at),
    }


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="Organization id or name; created if no organization has it.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    tier: Annotated[
        str | None, typer.Option(help="Tier of a new organization. Default: the deployment's VIDEOGEN_DEFAULT_TIER.")
    ] = None,
    expires_in_days: Annotated[float | None, typer.Option(help="The key stops working after this many days.")] = None,
    quiet: Quiet = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Create an API key. The key is printed once and never stored in clear."""
    with operator(base_url, admin_token) as ops:
        issued = ops.create_key(org, name=name, expires_in_seconds=lifetime_seconds(expires_in_days), tier=tier)
    print_secret(issued.key, issued.organization.name, quiet)


@keys_app.command("rotate")
def keys_rotate(
    key_id: str,
    expires_in_days: Annotated[
        float | None,
        typer.Option(help="The new key stops working after this many days. Default: when the old one does."),
    ] = None,
    quiet: Quiet = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Create a replacement key, expiring when the old one does; the old one keeps working until you revoke it."""
    with operator(base_url, admin_token) as ops:
        issued = ops.rotate_key(key_id, expires_in_seconds=lifetime_seconds(expires_in_days))
    print_secret(issued.key, issued.organization.name, quiet)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (id or name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, for scripts.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """List API keys (prefixes only)."""
    with operator(base_url, admin_token) as ops:
        keys = ops.keys(org)
        owners = [ops.organization(org)] if org else ops.organizations()
    names = {o.id: o.name for o in owners}
    rows = [key_row(k, names.get(k.organization_id, "")) for k in keys]
    emit(
        rows, as_json, "id", "organization", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"
    )


@keys_app.command("revoke")
def keys_revoke(key_id: str, base_url: BaseUrlOption = None, admin_token: AdminTokenOption = None) -> None:
    """Revoke a key at once: its next request gets 401."""
    with operator(base_url, admin_token) as ops:
        ops.revoke_key(key_id)
    console.print(f"revoked {key_id}", highlight=False)
