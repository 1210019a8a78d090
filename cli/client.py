"""For API clients: create a video through the HTTP API and inspect the MP4 it returns."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cli.output import console, err_console


def generate(
    prompt: Annotated[str, typer.Argument(help="What the video should show.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to save the MP4 (implies --wait).")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the video and show progress.")] = False,
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT.")] = None,
    seconds: Annotated[str | None, typer.Option(help="Clip length in seconds.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    steps: Annotated[int | None, typer.Option(help="Denoising steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, for reproducible results.")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="What to avoid.")] = None,
    image: Annotated[Path | None, typer.Option(help="An image to animate (image-to-video): PNG, JPEG or WebP.")] = None,
    input_fit: Annotated[
        str | None, typer.Option(help="If the image is not SIZE: exact (refuse), crop or pad.")
    ] = None,
    base_url: Annotated[str, typer.Option(envvar="VIDEOGEN_BASE_URL", help="API root.")] = "http://127.0.0.1:8000/v1",
    api_key: Annotated[str, typer.Option(envvar="VIDEOGEN_API_KEY", help="API key.")] = "",
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600,
) -> None:
    """Create a video through the HTTP API; with --wait/-o, follow it and download the result."""
    body = {
        key: value
        for key, value in {
            "prompt": prompt,
            "model": model,
            "size": size,
            "seconds": seconds,
            "fps": fps,
            "num_inference_steps": steps,
            "seed": seed,
            "negative_prompt": negative_prompt,
            "input_fit": input_fit,
        }.items()
        if value is not None
    }
    if image is not None and not image.is_file():
        err_console.print(f"[red]no image file at {image}[/red]")
        raise typer.Exit(1)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as client:
        if image is None:
            created = client.post("/videos", json=body)
        else:  # multipart, the image as the input_reference file part (as the openai SDK sends it)
            files = {"input_reference": (image.name, image.read_bytes())}
            created = client.post("/videos", data={k: str(v) for k, v in body.items()}, files=files)
        video = _checked(created)
        console.print(
            f"created [bold]{video['id']}[/bold] ({video['model']}, {video['size']}, "
            f"{video['seconds']} s, seed {video['seed']})"
        )
        if not (wait or output):
            return
        video = _follow(client, video, timeout)
        if video["status"] != "completed":
            error = video.get("error") or {}
            err_console.print(f"[red]{video['id']} {video['status']}[/red]: {error.get('message', '')}")
            raise typer.Exit(1)
        if output is not None:
            with client.stream("GET", f"/videos/{video['id']}/content", follow_redirects=True) as response:
                if response.status_code != 200:
                    _checked(httpx.Response(response.status_code, content=response.read()))
                with output.open("wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
            console.print(f"[green]saved[/green] {output} ({output.stat().st_size} bytes)")


def _follow(client: httpx.Client, video: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(video["status"], total=100)
        while video["status"] in ("queued", "in_progress"):
            if time.monotonic() > deadline:
                err_console.print(f"[red]gave up waiting for {video['id']}[/red]")
                raise typer.Exit(1)
            time.sleep(0.5)
            video = _checked(client.get(f"/videos/{video['id']}"))
            progress.update(task, completed=video["progress"], description=_describe(video))
    return video


def _describe(video: dict[str, Any]) -> str:
    """One line of what the job is doing: ``denoising 12/50, done in ~40 s``, ``queued (position 3)``."""
    label = str(video.get("phase") or video["status"])
    if video.get("queue_position"):
        label += f" (position {video['queue_position']})"
    if video.get("denoising_step") is not None:
        label += f" {video['denoising_step']}/{video['num_inference_steps']}"
    if video.get("estimated_completion_at"):
        label += f", done in ~{max(0, round(video['estimated_completion_at'] - time.time()))} s"
    return label


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            message = f"{error['message']} (param: {error.get('param')}, code: {error.get('code')})"
        except (ValueError, KeyError, TypeError):
            message = response.text[:500]
        err_console.print(f"[red]HTTP {response.status_code}[/red]: {message}")
        raise typer.Exit(1)
    body: dict[str, Any] = response.json()
    return body


def probe(path: Path) -> None:
    """Print what an MP4 holds: frames, size, frame rate, codec (decoded with PyAV)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        console.print(
            f"{path}: {frames} frames, {stream.codec_context.width}x{stream.codec_context.height}, "
            f"{stream.average_rate} fps, {stream.codec_context.name} {stream.codec_context.pix_fmt}"
        )
