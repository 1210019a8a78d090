"""Deployment files parse and say what the README promises. (No Docker engine runs here.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed (scripts/test.sh installs it)")


def test_compose_file_is_valid_and_wires_the_production_stack() -> None:
    result = subprocess.run(
        [*compose_command(), "-f", str(REPO / "docker-compose.yml"), "config"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"api", "worker", "redis", "postgres", "minio", "minio-init", "migrate"} <= set(services)
    for name in ("api", "redis", "postgres", "minio"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    gpu = services["worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    env = services["worker"]["environment"]
    assert env["VIDEOGEN_BROKER_URL"].startswith("redis://")
    assert env["VIDEOGEN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["VIDEOGEN_STORAGE_BACKEND"] == "s3"


def test_dockerfile_builds_an_api_and_a_cuda_worker_image() -> None:
    text = (REPO / "Dockerfile").read_text()
    stages = {alias: image for image, alias in re.findall(r"^FROM (\S+) AS (\w+)$", text, flags=re.MULTILINE)}
    assert {"api", "worker"} <= set(stages)
    assert "cuda" in stages["worker"]
    copied = [p for line in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.MULTILINE) for p in line.split()]
    assert {"api", "worker", "model", "videogen", "cli", "migrations", "pyproject.toml"} <= set(copied)
    for path in copied:
        assert (REPO / path).exists(), f"Dockerfile copies {path}, which does not exist"


def test_the_wheel_ships_the_console_and_the_data_files(tmp_path: Path) -> None:
    """The images install the package, not the source tree: everything the API serves or reads
    from its own package (the console's page, scripts and styles; the default tiers) is in the wheel."""
    build = tmp_path / "build"
    shutil.copytree(
        REPO, build, ignore=shutil.ignore_patterns(".venv", ".git", "var", "build", "test-artifacts", "*.egg-info")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", ".", "-w", str(tmp_path)],
        cwd=build,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("videogen-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    console = {f"api/console/static/{path.name}" for path in (REPO / "api/console/static").iterdir()}
    assert "api/console/static/index.html" in console
    assert not console - shipped, sorted(console - shipped)
    assert "videogen/data/tiers.toml" in shipped
