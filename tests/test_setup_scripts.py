"""The quickstart's install: the extras every README example needs, and pip silent unless it fails.

``scripts/setup.sh`` runs here on a copy of itself in a scratch folder whose ``.venv`` holds a
stand-in ``python``: it prints pip-like chatter and succeeds, or fails when told to. That is pip's
part only; what the script does with pip's output is the real script's.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.stack import REPO

CHATTER = "Requirement already satisfied: something in ./somewhere"
FAKE_PYTHON = f"""#!/usr/bin/env bash
# A stand-in for .venv's python: `-c` succeeds (torch is "installed"); pip chatters, and fails
# on the install named by FAIL_ON.
if [ "$1" = "-c" ]; then exit 0; fi
echo "{CHATTER}"
echo "WARNING: a warning pip prints on success" >&2
if [ -n "${{FAIL_ON:-}}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then
  echo "ERROR: No matching distribution found for $FAIL_ON" >&2
  exit 1
fi
echo "$*" >> "$(dirname "$0")/pip-calls"
"""


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return tmp_path


def run_setup(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo / "scripts" / "setup.sh"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_setup_prints_nothing_of_pips_when_it_succeeds(scratch_repo: Path) -> None:
    result = run_setup(scratch_repo, "worker,client")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "installing videogen[worker,client] into .venv (minutes the first time)...",
        "installed videogen[worker,client] into .venv",
    ]
    assert result.stderr == ""
    calls = (scratch_repo / ".venv" / "bin" / "pip-calls").read_text()
    assert "-e .[worker,client]" in calls  # the extras asked for were installed


def test_setup_shows_all_of_pips_output_when_it_fails(scratch_repo: Path) -> None:
    result = run_setup(scratch_repo, "worker,client", FAIL_ON=".[worker,client]")
    assert result.returncode != 0
    assert CHATTER in result.stderr and "ERROR: No matching distribution found" in result.stderr
    assert "setup.sh: failed (exit 1)" in result.stderr
    assert "installed videogen" not in result.stdout


def test_the_quickstart_installs_what_every_readme_example_imports() -> None:
    """The quickstart's extras include ``client`` (the SDK and the webhook verifier), and the test
    extra includes the same, so the README snippets' test runs in the environment a newcomer has."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    client = {requirement.split(">")[0].split("[")[0] for requirement in extras["client"]}
    assert {"openai", "standardwebhooks"} <= client
    (itself,) = [r for r in extras["test"] if r.startswith("videogen[")]
    assert {"worker", "client"} <= set(itself.removeprefix("videogen[").removesuffix("]").split(","))
    assert "scripts/setup.sh worker,client\n" in (REPO / "scripts" / "quickstart.sh").read_text()
