"""For the operator: the access tiers of the tiers file (`videogen tiers`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import emit
from videogen.settings import get_settings

if TYPE_CHECKING:
    from videogen.accounts.tiers import TierCatalog

tiers_app = typer.Typer(help="Access tiers (from the tiers file).", no_args_is_help=True)


def tier_catalog() -> TierCatalog:
    """The tiers of the configured tiers file."""
    from videogen.accounts.tiers import load_tiers  # imports the SQLAlchemy models: only when needed

    return load_tiers(get_settings().tiers_file)


@tiers_app.command("list")
def tiers_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """The tiers of the tiers file and their limits."""
    rows = [{k: str(v) for k, v in t.public_info().items()} for t in tier_catalog().all()]
    emit(
        rows,
        as_json,
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
