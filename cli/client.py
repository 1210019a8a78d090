"""For API clients: create a video through the HTTP API and inspect the MP4 it returns.

Every way these commands can fail that a user can cause or meet (no key, the server down or slow, an API error,
a file that is not a video) ends in one ``error: ...`` line on stderr and a non-zero exit, never a traceback:
exit 2 for an invocation that cannot work (no key, a missing file), 1 for everything else.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import httpx
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cli.output import cause, console, err_console, error_line, sendable_token

if TYPE_CHECKING:
    import av  # imported when probe runs: generate and --help do without PyAV's start-up

USAGE_ERROR = 2
"""Exit status of an invocation that cannot work as typed (as Typer's own usage errors)."""


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
    request_timeout: Annotated[
        float,
        typer.Option(help="Give up on one HTTP request (connect, or wait for an answer) after this many seconds."),
    ] = 60,
) -> None:
    """Create a video through the HTTP API; with --wait/-o, follow it and download the result."""
    api_key = api_key.strip()
    if not api_key:
        fail("no API key: set VIDEOGEN_API_KEY or pass --api-key", USAGE_ERROR)
    if not sendable_token(api_key):
        fail("the API key holds spaces or characters no key has: check VIDEOGEN_API_KEY or --api-key", USAGE_ERROR)
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
        fail(f"no image file at {image}", USAGE_ERROR)
    if output is not None and not output.parent.is_dir():  # found out now, not after the GPU time is spent
        fail(f"no directory {output.parent} to save {output.name} in", USAGE_ERROR)
    headers = {"Authorization": f"Bearer {api_key}"}
    with (
        _reaching(base_url, request_timeout),
        httpx.Client(base_url=base_url, headers=headers, timeout=request_timeout) as client,
    ):
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
            fail(f"{video['id']} {video['status']}: {error.get('message', '')} (code: {error.get('code')})")
        if output is not None:
            _download(client, video["id"], output)
            console.print(f"[green]saved[/green] {output} ({output.stat().st_size} bytes)")


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """End the command with one ``error: ...`` line on stderr."""
    error_line(message)
    raise typer.Exit(exit_code)


@contextlib.contextmanager
def _reaching(base_url: str, request_timeout: float) -> Iterator[None]:
    """Turn a failure to talk to the API (refused, unknown host, timed out, cut off) into one line naming it."""
    try:
        yield
    except httpx.TimeoutException as exc:
        what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for an answer"
        fail(f"cannot reach the API at {base_url}: timed out {what} (after {request_timeout:g} s)")
    except httpx.UnsupportedProtocol:
        fail(f"--base-url / VIDEOGEN_BASE_URL {base_url!r} is not an http:// or https:// URL", USAGE_ERROR)
    except httpx.InvalidURL as exc:
        fail(f"--base-url / VIDEOGEN_BASE_URL {base_url!r} is not a valid URL: {exc}", USAGE_ERROR)
    except httpx.TransportError as exc:
        fail(f"cannot reach the API at {base_url}: {cause(exc)}")


def _download(client: httpx.Client, video_id: str, output: Path) -> None:
    with client.stream("GET", f"/videos/{video_id}/content", follow_redirects=True) as response:
        if response.status_code != 200:
            response.read()
            _checked(response)
        try:
            with output.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")


def _follow(client: httpx.Client, video: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(video["status"], total=100)
            while video["status"] in ("queued", "in_progress"):
                if time.monotonic() > deadline:
                    fail(f"gave up waiting for {video['id']} after {timeout:g} s; it goes on on the server")
                time.sleep(0.5)
                video = _checked(client.get(f"/videos/{video['id']}"))
                progress.update(task, completed=video["progress"], description=_describe(video))
    except KeyboardInterrupt:  # Ctrl-C stops the waiting, not the job: say so, and exit as interrupted programs do
        err_console.print(f"stopped waiting: {video['id']} goes on on the server (GET /videos/{video['id']})")
        raise typer.Exit(130) from None
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
    """The JSON object of a successful answer; an error answer ends the command with its message and code."""
    if response.status_code >= 400:
        fail(_api_error(response))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        fail(
            f"{response.request.url} answered HTTP {response.status_code} without a JSON object: "
            "is the base URL the API root (.../v1)?"
        )
    return body


def _api_error(response: httpx.Response) -> str:
    """One line from our error format ``{"error": {"message", "type", "code", "param"}}``, or from whatever a proxy
    in between answered; a 503 (and a 429) says it is temporary, and when to try again if the server said."""
    details = [f"HTTP {response.status_code}"]
    try:
        error = response.json()["error"]
        message = str(error["message"])
        details += [f"{key}: {error[key]}" for key in ("code", "param") if error.get(key) is not None]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    line = f"{message} ({', '.join(details)})"
    retry_after = response.headers.get("retry-after")
    if response.status_code in (429, 503):
        when = f"in {retry_after} s" if retry_after and retry_after.isdigit() else (retry_after or "later")
        temporary = "temporarily unavailable" if response.status_code == 503 else "rate limited"
        line += f"; the service is {temporary}, try again {when}"
    return line


def probe(path: Annotated[Path, typer.Argument(help="The video file (an MP4 from generate).")]) -> None:
    """Print what an MP4 holds: frames, size, frame rate, codec (decoded with PyAV)."""
    import av

    if not path.exists():
        fail(f"no file at {path}", USAGE_ERROR)
    if not path.is_file():
        fail(f"{path} is not a file", USAGE_ERROR)
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        fail(f"{path} cannot be read as a video (not one, damaged or truncated): {_ffmpeg_reason(exc)}")
    with container:
        if not container.streams.video:
            kinds: list[str] = sorted({stream.type for stream in container.streams}) or ["nothing"]
            fail(f"{path} is not a video: it has no video stream (it holds {', '.join(kinds)})")
        stream = container.streams.video[0]
        # Images open as one-frame videos (demuxers jpeg_pipe, png_pipe, webp_pipe, image2 ...): say what they are.
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            fail(f"{path} is not a video: it is an image ({container.format.name.removesuffix('_pipe')})")
        frames = 0
        try:
            for _ in container.decode(stream):
                frames += 1
        except av.FFmpegError as exc:
            fail(f"{path} is damaged or truncated: decoding failed after {frames} frames ({_ffmpeg_reason(exc)})")
        if frames == 0:
            fail(f"{path} holds a video stream without a single frame")
        if frames == 1 and stream.average_rate is None:  # a still GIF, say
            fail(f"{path} is not a video: it is a still image ({stream.codec_context.name})")
        console.print(
            f"{path}: {frames} frames, {stream.codec_context.width}x{stream.codec_context.height}, "
            f"{stream.average_rate} fps, {stream.codec_context.name} {stream.codec_context.pix_fmt}"
        )


def _ffmpeg_reason(exc: av.FFmpegError) -> str:
    """FFmpeg's reason (``invalid data found when processing input``), without its error number and file name."""
    reason = str(exc.strerror or exc)
    return reason[:1].lower() + reason[1:]
