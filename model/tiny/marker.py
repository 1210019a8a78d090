"""The file that marks a directory as a tiny twin (random weights), and says which and how made."""

from __future__ import annotations

import json
from pathlib import Path

TINY_MARKER = "videogen_tiny.json"


def write_marker(out_dir: Path, model: str, seed: int) -> None:
    (out_dir / TINY_MARKER).write_text(
        json.dumps({"model": model, "seed": seed, "note": "random weights: output is noise"}, indent=2)
    )
