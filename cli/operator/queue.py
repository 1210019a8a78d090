"""For the operator: the queue per model, from the database (`videogen queue`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import emit


def wait(seconds: float) -> str:
    """A wait as people read it: ``0``, ``45s``, ``12m 05s``, ``3h 20m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s" if whole else "0"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def queue(
    window: Annotated[
        int, typer.Option(min=1, max=86400, help="Count the workers seen within the last WINDOW seconds.")
    ] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document (the admin API's queue list).")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """The queue per model: jobs queued and running, the oldest wait, the workers seen (those that ran a job
    within the window; an idle one is not seen)."""
    with operator(base_url, admin_token) as ops:
        report = ops.queue(window)
    if as_json:
        print(report.model_dump_json())
        return
    rows = [
        {
            "model": q.model + ("" if q.served else " (not served)"),
            "queued": q.queued,
            "running": q.running,
            "oldest_wait": wait(q.oldest_queued_seconds),
            "workers_seen": q.workers_seen,
        }
        for q in report.data
    ]
    emit(rows, False, "model", "queued", "running", "oldest_wait", "workers_seen")
