"""``videogen``: run, operate and use the service from a terminal.

This module only wires the command groups together; each audience has its own modules:

- ``cli.client``: API clients (``generate``, ``probe``);
- ``cli.operator``: the operator (``orgs``, ``keys``, ``tiers``, ``access-requests``, ``usage``, ``webhooks``,
  ``queue``, ``videos``);
- ``cli.processes``: whoever runs the service (``dev``, ``serve``, ``worker``, ``webhook-worker``, ``reconcile``,
  ``db``, ``model``);
- ``cli.output``: what they share (consoles, tables or JSON lines, errors, secrets).

``main`` is the ``videogen`` program: the commands behind a last-resort guard, so that an error no command
foresaw still ends in one line and exit 1 (the traceback only with ``--debug`` or ``VIDEOGEN_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli import client, processes
from cli.operator.access_requests import access_app
from cli.operator.keys import keys_app
from cli.operator.orgs import orgs_app
from cli.operator.queue import queue
from cli.operator.tiers import tiers_app
from cli.operator.usage import usage
from cli.operator.videos import videos_app
from cli.operator.webhooks import webhooks_app
from cli.output import error_line
from cli.processes import build_tiny_if_missing, upgrade_database

__all__ = ["app", "build_tiny_if_missing", "main", "upgrade_database"]

app = typer.Typer(help="videogen: self-hosted text-to-video API.", no_args_is_help=True)

DEBUG_ENV = "VIDEOGEN_DEBUG"
_TRUE = {"1", "true", "yes", "on"}
# The service's own processes: what kills one goes to its log with the traceback, which is what the
# operator reading that log needs; one line is for people at a terminal.
SERVICE_PROCESSES = {"serve", "worker", "webhook-worker", "reconcile", "dev"}


@app.callback()
def _global_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar=DEBUG_ENV, help="On an unexpected error, show the whole traceback, not one line."
        ),
    ] = False,
) -> None:
    # main() reads it from the environment once a command has failed (and processes started by dev inherit it)
    if debug:
        os.environ[DEBUG_ENV] = "1"


# Commands are listed in `videogen --help` in the order they are registered here.
app.command()(usage)
app.command()(queue)
app.command()(processes.serve)
app.command()(processes.worker)
app.command("webhook-worker")(processes.webhook_worker)
app.command()(processes.reconcile)
app.command()(processes.dev)
app.command()(client.generate)
app.command()(client.probe)

app.add_typer(keys_app, name="keys")
app.add_typer(orgs_app, name="orgs")
app.add_typer(access_app, name="access-requests")
app.add_typer(tiers_app, name="tiers")
app.add_typer(processes.db_app, name="db")
app.add_typer(processes.model_app, name="model")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(videos_app, name="videos")


def main() -> None:
    """Run the command; an exception no command turned into a message becomes one ``error:`` line and exit 1.

    Typer handles its own usage errors (exit 2) and Ctrl-C inside a command (exit 130) before this guard."""
    try:
        app()
    except KeyboardInterrupt:  # outside a command's invocation (while importing, parsing)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUE or _command() in SERVICE_PROCESSES:
            raise  # Typer's hook prints the traceback
        error_line(_one_line(exc), f" (--debug or {DEBUG_ENV}=1 shows the traceback)")
        sys.exit(1)


def _command() -> str | None:
    """The command named on the command line (the first argument after the global options)."""
    return next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)


def _one_line(exc: Exception) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


if __name__ == "__main__":
    main()
