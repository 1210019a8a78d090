"""For the operator: an organization's usage (`videogen usage`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import console, emit


def usage(
    org: Annotated[str, typer.Option("--org", help="Organization id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document (the admin API's usage object).")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """An organization's usage over the last 30 days, per day and model."""
    with operator(base_url, admin_token) as ops:
        report = ops.usage(org)
    if as_json:
        print(report.model_dump_json())
        return
    emit(
        [b.model_dump() for b in report.data],
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
    today = report.today
    console.print(
        f"today: {today['video_seconds']:g} of {today['video_seconds_limit']:g} video-seconds ({report.tier})",
        highlight=False,
    )
