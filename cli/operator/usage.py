"""For the operator: an organization's usage, read from the database (`videogen usage`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.operator.tiers import tier_catalog
from cli.output import console, domain_errors, emit
from videogen.settings import get_settings


def usage(
    org: Annotated[str, typer.Option("--org", help="Organization id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """An organization's usage over the last 30 days, per day and model (from the database)."""
    from dataclasses import asdict

    from videogen.accounts import organizations
    from videogen.accounts.usage import usage_report
    from videogen.database import session_scope

    with domain_errors(), session_scope(get_settings().database_url) as session:
        organization = organizations.find_organization(session, org)
        report = usage_report(session, organization, tier_catalog().get(organization.tier), None, None)
    if as_json:
        print(json.dumps(asdict(report)))
        return
    emit(
        [{k: str(v) for k, v in asdict(b).items()} for b in report.data],
        False,
        "date",
        "model",
        "jobs",
        "completed",
        "failed",
        "cancelled",
        "video_seconds",
        "gpu_seconds",
    )
    console.print(f"today: {report.today_video_seconds:g} of {report.daily_quota:g} video-seconds ({report.tier})")
