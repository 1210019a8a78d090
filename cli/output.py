"""Shared by every audience: the consoles, tables or JSON lines, and how errors and secrets are printed."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from api.schemas import ApiKeyObject

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

# A column narrower than this (or its longest value, if shorter) is not worth reading: past it,
# a table grows wider than the terminal instead of squeezing further.
READABLE_COLUMN_WIDTH = 8


class CommandError(Exception):
    """A command cannot do what was asked (no database, the API unreachable or refusing): ``message``
    is the one line the user sees."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Columns whose values the next command is given (ids, organization and tier names) or that tell keys apart.
WHOLE_COLUMNS = frozenset({"id", "name", "organization", "tier", "prefix"})


def whole(column: str) -> bool:
    """Whether a column's values must never be cut or split across lines."""
    return column in WHOLE_COLUMNS or column.endswith("_id")


def emit(rows: Sequence[Mapping[str, object]], as_json: bool, *columns: str) -> None:
    """Print rows as a table of these columns, or as one JSON object per line.

    Ids are printed whole on one line whatever the terminal's width (they are what the next command
    takes); other values wrap, never lose characters. A table that cannot fit the terminal so is
    printed wider than it, for the terminal to wrap, rather than cut.
    """
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    cells = [[cell(row[c]) for c in columns] for row in rows]
    table = Table()
    least = 1  # the table's narrowest: its columns' and, per column, a border and padding on either side
    for index, column in enumerate(columns):
        longest = max([len(column), *(len(line[index]) for line in cells)])
        if whole(column):
            table.add_column(column, no_wrap=True, min_width=longest)
        else:
            table.add_column(column, overflow="fold", min_width=min(longest, READABLE_COLUMN_WIDTH))
        least += (table.columns[-1].min_width or 0) + 3
    for line in cells:
        table.add_row(*(Text(value) for value in line))
    if least > console.width:
        table.width = least
    console.print(table, crop=False)


def cell(value: object) -> str:
    """A value as a table shows it: lists comma-separated, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def timestamp(value: int | None) -> str:
    """A wire timestamp (Unix seconds) as the CLI prints it: ISO 8601 in UTC, or nothing."""
    return datetime.fromtimestamp(value, UTC).isoformat() if value is not None else ""


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def error_line(message: str, hint: str = "") -> None:
    """One ``error: ...`` line on stderr (whitespace folded, so it stays one line), ``hint`` dimmed after it."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", " ".join(message.split()), (hint, "dim")))


def cause(exc: Exception) -> str:
    """``[Errno 111] Connection refused`` -> ``connection refused``: the reason, without the OS's numbering."""
    reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip()) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def sendable_token(token: str) -> bool:
    """Whether a key or token can go in an ``Authorization`` header at all (printable ASCII, no spaces or
    newlines): one that cannot is a mistyped setting, said as such rather than as an HTTP library's error."""
    return re.fullmatch(r"[!-~]+", token) is not None


def domain_errors() -> contextlib.AbstractContextManager[None]:
    """Print a domain error (unknown org, bad tier, ...) or a ``CommandError`` as one line and exit 1."""

    @contextlib.contextmanager
    def handler() -> Iterator[None]:
        from videogen.errors import VideogenError

        try:
            yield
        except (VideogenError, CommandError) as exc:
            error_line(exc.message)
            raise typer.Exit(1) from None

    return handler()


def print_secret(key: ApiKeyObject, org_name: str, quiet: bool) -> None:
    """A new key's secret: alone with ``quiet`` (for scripts), else with what it is for."""
    if quiet:
        print(key.secret)
        return
    console.print(Text.assemble("Created key ", (key.id, "bold"), " for organization ", (org_name, "bold"), "."))
    console.print("Store it now; it will not be shown again:\n")
    print(key.secret)
