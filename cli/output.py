"""Shared by every audience: the consoles, tables or JSON lines, and how errors and secrets are printed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from datetime import datetime

    from videogen.accounts.api_keys import CreatedKey

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def emit(rows: Sequence[Mapping[str, object]], as_json: bool, *columns: str) -> None:
    """Print rows as a table of these columns, or as one JSON object per line."""
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)


def when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def domain_errors() -> contextlib.AbstractContextManager[None]:
    """Print a domain error (unknown org, bad tier, ...) as one red line and exit 1."""

    @contextlib.contextmanager
    def handler() -> Iterator[None]:
        from videogen.errors import VideogenError

        try:
            yield
        except VideogenError as exc:
            err_console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None

    return handler()


def print_secret(created: CreatedKey, org_name: str, quiet: bool) -> None:
    if quiet:
        print(created.secret)
        return
    console.print(f"Created key [bold]{created.api_key.id}[/bold] for organization [bold]{org_name}[/bold].")
    console.print("Store it now; it will not be shown again:\n")
    print(created.secret)
