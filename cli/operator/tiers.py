"""For the operator: the access tiers of the tiers file (`videogen tiers`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import emit

tiers_app = typer.Typer(help="Access tiers (from the tiers file).", no_args_is_help=True)

TIER_COLUMNS = (
    "name",
    "models",
    "max_seconds",
    "max_size",
    "max_steps",
    "requests_per_minute",
    "max_concurrent_jobs",
    "video_seconds_per_day",
    "priority",
    "retention_hours",
)


@tiers_app.command("list")
def tiers_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """The tiers of the tiers file and their limits (the deployment's, with --base-url)."""
    with operator(base_url, admin_token) as ops:
        rows = [t.model_dump(mode="json", exclude={"object"}) for t in ops.tiers()]
    emit(rows, as_json, *TIER_COLUMNS)
