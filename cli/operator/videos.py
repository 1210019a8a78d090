"""For the operator: every organization's videos, recent failures first of all (`videogen videos`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.operator.backend import AdminTokenOption, BaseUrlOption, operator
from cli.output import CommandError, emit, timestamp

if TYPE_CHECKING:
    from api.schemas import OperatorVideoObject

videos_app = typer.Typer(help="Every organization's videos (operator view): failures, by model.", no_args_is_help=True)

COLUMNS = ("id", "organization", "model", "status", "created_at", "attempts", "worker", "error")


def video_row(v: OperatorVideoObject) -> dict[str, str]:
    return {
        "id": v.id,
        "organization": v.organization_name,
        "model": v.model,
        "status": v.status,
        "created_at": timestamp(v.created_at),
        "attempts": str(v.attempts),
        "worker": v.worker or "",
        "error": f"{v.error.code}: {v.error.message}" if v.error else "",
    }


@videos_app.command("list")
def videos_list(
    status: Annotated[
        str | None, typer.Option(help="Only videos in this status: queued, in_progress, completed, failed, cancelled.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only videos of this model.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (name or id).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines (the admin API's video objects).")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Videos of every organization, newest first: whose, its status, who ran it, why it failed."""
    from videogen.videos.tables import VideoStatus

    with operator(base_url, admin_token) as ops:
        if status is not None and status not in set(VideoStatus):
            raise CommandError(f"unknown status '{status}': choose {', '.join(VideoStatus)}.")
        found = ops.videos(org=org, status=VideoStatus(status) if status else None, model=model, limit=limit)
    if as_json:
        for video in found:
            print(video.model_dump_json())
        return
    emit([video_row(v) for v in found], False, *COLUMNS)


@videos_app.command("get")
def videos_get(
    video_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document (the admin API's video object).")] = False,
    base_url: BaseUrlOption = None,
    admin_token: AdminTokenOption = None,
) -> None:
    """Any organization's video, with its prompt."""
    with operator(base_url, admin_token) as ops:
        video = ops.video(video_id)
    if as_json:
        print(video.model_dump_json())
        return
    emit([{**video_row(video), "prompt": video.prompt}], False, *COLUMNS, "prompt")
