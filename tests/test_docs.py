"""The README documents what the code does: every setting, every CLI command, every file it shows."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from cli.main import app
from videogen.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f"VIDEOGEN_{name.upper()}" for name in Settings.model_fields if f"VIDEOGEN_{name.upper()}" not in README]
    assert not missing, f"settings missing from the README: {missing}"


def test_every_cli_command_is_documented() -> None:
    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    # top-level commands appear as "videogen NAME", subcommands at least as "GROUP NAME"
    missing = [n for n in names if (n if " " in n else f"videogen {n}") not in README]
    assert not missing, f"CLI commands missing from the README: {missing}"


def test_every_file_the_readme_links_or_shows_exists() -> None:
    """Pictures (the console's screenshots) and links to files of the repository resolve."""
    root = Path(__file__).resolve().parents[1]
    targets = {
        target.split("#")[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", README)
        if not target.startswith(("http://", "https://", "#", "mailto:"))
    }
    assert any(target.startswith("docs/console/") for target in targets)  # the console's pictures are shown
    missing = sorted(target for target in targets if not (root / target).exists())
    assert not missing, f"README links to files that do not exist: {missing}"
