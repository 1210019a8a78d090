"""The ``videogen`` CLI as a user types it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.stack import ServiceStack, free_port, videogen_cli, wait_until


def test_generate_waits_shows_progress_and_saves_the_mp4(embedded_stack: ServiceStack, tmp_path: Path) -> None:
    env = {
        **embedded_stack.env,
        "VIDEOGEN_API_KEY": embedded_stack.create_key("cli-user"),
        "VIDEOGEN_BASE_URL": embedded_stack.base_url,
    }
    out = tmp_path / "cli.mp4"
    result = videogen_cli(env, "generate", "a paper boat on a river", "-o", str(out), "--seconds", "1", "--seed", "3")
    assert "completed" in result.stdout and "saved" in result.stdout
    assert "seed 3" in result.stdout
    probe = videogen_cli(env, "probe", str(out)).stdout
    assert "9 frames, 128x128, 8 fps, h264 yuv420p" in probe


def test_generate_reports_api_errors_and_exits_nonzero(embedded_stack: ServiceStack) -> None:
    env = {
        **embedded_stack.env,
        "VIDEOGEN_API_KEY": embedded_stack.create_key("cli-user-2"),
        "VIDEOGEN_BASE_URL": embedded_stack.base_url,
    }
    result = videogen_cli(env, "generate", "too big", "--size", "4096x4096", check=False)
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr and "param: size" in result.stderr

    result = videogen_cli({**env, "VIDEOGEN_API_KEY": "vg_live_nope"}, "generate", "who am i", check=False)
    assert result.returncode == 1 and "HTTP 401" in result.stderr


def test_dev_runs_the_whole_embedded_stack_in_one_command(models_dir: Path, tmp_path: Path) -> None:
    """`videogen dev` on an empty data directory: migrates, builds the tiny model, serves, works."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGEN_")}
    env.update(VIDEOGEN_DATA_DIR=str(tmp_path / "var"), VIDEOGEN_DEVICE="cpu", PYTHONUNBUFFERED="1")
    port = free_port()
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200, 240, message="dev API"
        )
        assert (tmp_path / "var" / "models" / "hunyuanvideo-tiny" / "model_index.json").is_file()
        key = videogen_cli(env, "keys", "create", "--org", "dev", "-q").stdout.strip()
        out = tmp_path / "dev.mp4"
        videogen_cli(
            {**env, "VIDEOGEN_API_KEY": key, "VIDEOGEN_BASE_URL": f"http://127.0.0.1:{port}/v1"},
            "generate",
            "dev smoke test",
            "-o",
            str(out),
        )
        assert "17 frames, 128x128" in videogen_cli(env, "probe", str(out)).stdout
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=120)
    assert dev.returncode == 0, (tmp_path / "dev.log").read_text()[-3000:]
