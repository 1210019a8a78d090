"""``videogen``: run, operate and use the service from a terminal.

This module only wires the command groups together; each audience has its own modules:

- ``cli.client``: API clients (``generate``, ``probe``);
- ``cli.operator``: the operator (``orgs``, ``keys``, ``tiers``, ``access-requests``, ``usage``, ``webhooks``);
- ``cli.processes``: whoever runs the service (``dev``, ``serve``, ``worker``, ``webhook-worker``, ``reconcile``,
  ``db``, ``model``);
- ``cli.output``: what they share (consoles, tables or JSON lines, errors, secrets).
"""

from __future__ import annotations

import typer

from cli import client, processes
from cli.operator.access_requests import access_app
from cli.operator.keys import keys_app
from cli.operator.orgs import orgs_app
from cli.operator.tiers import tiers_app
from cli.operator.usage import usage
from cli.operator.webhooks import webhooks_app
from cli.processes import build_tiny_if_missing, upgrade_database

__all__ = ["app", "build_tiny_if_missing", "upgrade_database"]

app = typer.Typer(help="videogen: self-hosted text-to-video API.", no_args_is_help=True)

# Commands are listed in `videogen --help` in the order they are registered here.
app.command()(usage)
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

if __name__ == "__main__":
    app()
