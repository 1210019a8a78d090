"""Every error of the ``videogen`` program is one clear line and a non-zero exit: the installed program run as a
user runs it, one cheap process per case (no traceback, the line says what to do or what went wrong)."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import ServiceStack, free_port

VIDEOGEN = str(Path(sys.executable).with_name("videogen"))
"""The console script pip installed next to this interpreter: what a user types."""


def _env(**extra: str) -> dict[str, str]:
    """The user's environment without any VIDEOGEN_* setting of the test run (no key, no debug)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGEN_")}
    env.update(extra)
    return env


def _videogen(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """Run the program; its exit status and everything it printed (stdout and stderr, as a terminal shows them)."""
    result = subprocess.run(
        [VIDEOGEN, *args],
        env=env if env is not None else _env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout


def _one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A host that accepts connections and never answers (a hung server behind a load balancer)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def test_generate_without_a_key_says_how_to_set_one() -> None:
    status, output = _videogen("generate", "a fox")
    line = _one_error_line(output)
    assert status == 2
    assert "no API key" in line and "VIDEOGEN_API_KEY" in line and "--api-key" in line


def test_generate_with_the_server_down_names_the_url_and_the_cause() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    status, output = _videogen("generate", "a fox", env=_env(VIDEOGEN_API_KEY="vg_test", VIDEOGEN_BASE_URL=base_url))
    line = _one_error_line(output)
    assert status == 1
    assert base_url in line and "connection refused" in line


def test_generate_gives_up_on_a_server_that_does_not_answer(silent_server: socket.socket) -> None:
    base_url = f"http://127.0.0.1:{silent_server.getsockname()[1]}/v1"
    status, output = _videogen(
        "generate", "a fox", "--api-key", "vg_test", "--base-url", base_url, "--request-timeout", "0.5"
    )
    line = _one_error_line(output)
    assert status == 1
    assert base_url in line and "timed out" in line


def test_ctrl_c_exits_130_without_a_traceback(silent_server: socket.socket) -> None:
    base_url = f"http://127.0.0.1:{silent_server.getsockname()[1]}/v1"
    process = subprocess.Popen(
        [VIDEOGEN, "generate", "a fox", "--api-key", "vg_test", "--base-url", base_url],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        silent_server.settimeout(60)
        connection, _ = silent_server.accept()
        with connection:
            connection.settimeout(60)
            assert connection.recv(64).startswith(b"POST /v1/videos")  # it waits for the answer now
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def test_generate_prints_an_api_error_with_its_message_and_code(embedded_stack: ServiceStack) -> None:
    env = _env(VIDEOGEN_API_KEY=embedded_stack.create_key("cli-errors"), VIDEOGEN_BASE_URL=embedded_stack.base_url)
    status, output = _videogen("generate", "a fox", "--size", "130x130", env=env)
    line = _one_error_line(output)
    assert status == 1
    assert "size 130x130 is not supported" in line
    assert "HTTP 400" in line and "code: invalid_size" in line and "param: size" in line


class _Overloaded(http.server.BaseHTTPRequestHandler):
    """A load balancer in front of the API, out of healthy backends: an HTML 503 with Retry-After."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html><body>\n<h1>503 Service Unavailable</h1>\nNo server is available.\n</body></html>\n"
        self.send_response(503)
        self.send_header("Retry-After", "30")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass


def test_a_503_says_the_service_is_temporarily_unavailable_and_when_to_retry() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        status, output = _videogen("generate", "a fox", "--api-key", "vg_test", "--base-url", base_url)
    finally:
        server.shutdown()
        server.server_close()
    line = _one_error_line(output)
    assert status == 1
    assert "HTTP 503" in line and "temporarily unavailable" in line and "in 30 s" in line


@pytest.fixture(scope="module")
def not_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A photo, random bytes, and an MP4 cut off after its first half."""
    import av
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("not-videos")
    Image.new("RGB", (32, 32), "orange").save(folder / "photo.jpg")
    (folder / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    with av.open(str(folder / "whole.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 30, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    whole = (folder / "whole.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    return folder


@pytest.mark.parametrize(
    ("name", "expected_status", "says"),
    [
        ("missing.mp4", 2, "no file at"),
        ("photo.jpg", 1, "is not a video: it is an image (jpeg)"),
        ("garbage.mp4", 1, "cannot be read as a video"),
        ("truncated.mp4", 1, "truncated"),
    ],
)
def test_probe_on_what_is_not_a_video_says_so(not_videos: Path, name: str, expected_status: int, says: str) -> None:
    status, output = _videogen("probe", name, cwd=not_videos)
    line = _one_error_line(output)
    assert status == expected_status
    assert name in line and says in line


FAILING_COMMAND = """
import sys
import typer
from cli.main import app, main

@app.command("fail-for-test")
def fail_for_test() -> None:
    raise RuntimeError("the disk caught fire\\nsecond line of the message")

sys.exit(main())
"""


def test_an_unexpected_exception_is_one_line_and_exit_1_and_the_traceback_is_one_switch_away() -> None:
    """The last-resort guard of the program, seen through a command that fails as no command foresaw."""

    def run(*args: str, **env: str) -> tuple[int, str]:
        result = subprocess.run(
            [sys.executable, "-c", FAILING_COMMAND, *args],
            env=_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        return result.returncode, result.stdout

    status, output = run("fail-for-test")
    line = _one_error_line(output)
    assert status == 1
    assert "RuntimeError: the disk caught fire" in line and "--debug" in line and "VIDEOGEN_DEBUG=1" in line

    status, output = run("--debug", "fail-for-test")  # the same as VIDEOGEN_DEBUG=1
    assert status == 1
    assert "Traceback" in output and "the disk caught fire" in output and "fail_for_test" in output


def test_usage_errors_keep_typers_own_message() -> None:
    status, output = _videogen("generate")
    assert status == 2
    assert "Missing argument" in output and "Traceback" not in output


def test_generate_and_probe_start_without_torch() -> None:
    """Each command here is a short process: importing torch would cost seconds on every run. The program's
    modules and PyAV (which probe imports when it runs) are all that generate and probe import."""
    code = "import sys, av, cli.main\nprint(sorted(m for m in ('torch', 'diffusers', 'model') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
