"""The operator's CLI on a remote deployment (``--base-url``, through the admin API) and on a local
database: the same commands, the same output; errors as one line; ids never cut; no database
created by accident.

Commands run in this process (Typer's runner) against the embedded stack's real API, and locally
against the same stack's database, so the two modes can be compared byte for byte.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.helpers import ADMIN_TOKEN, BROKEN_MODEL, QUICK, finished, wait_for
from tests.stack import ServiceStack, free_port
from videogen.settings import get_settings


@pytest.fixture
def local(embedded_stack: ServiceStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceStack]:
    """This process configured as the stack's own machine: local mode reaches the stack's database."""
    for name, value in embedded_stack.env.items():
        if name.startswith("VIDEOGEN_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("VIDEOGEN_ADMIN_BASE_URL", raising=False)
    get_settings.cache_clear()
    yield embedded_stack
    get_settings.cache_clear()


@pytest.fixture
def admin(embedded_stack: ServiceStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{embedded_stack.base_url}/admin", headers=headers, timeout=30) as client:
        yield client


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = cli(*args, env=env)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result.stdout


def failed(*args: str, env: dict[str, str] | None = None) -> str:
    """The one line a failing command prints on stderr (it must fail, with nothing on stdout)."""
    result = cli(*args, env=env)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def remote(stack: ServiceStack) -> list[str]:
    return ["--base-url", stack.base_url, "--admin-token", ADMIN_TOKEN]


def pending_application(company: str) -> str:
    """A pending access request, written by the domain (the public route is rate-limited per address,
    and other tests count on that limit)."""
    from videogen.accounts import access_requests
    from videogen.database import session_scope

    with session_scope(get_settings().database_url) as session:
        return access_requests.submit(
            session, company=company, contact_email="ops@remote.example", use_case="trailers", client_ip=None
        ).id


def works(stack: ServiceStack, secret: str) -> int:
    return httpx.get(f"{stack.base_url}/videos", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_the_operator_walkthrough_through_the_admin_api_prints_what_local_mode_prints(local: ServiceStack) -> None:
    stack, far = local, remote(local)
    name = f"Remote Co {secrets.token_hex(3)}"
    created = ok("orgs", "create", name, "--tier", "enterprise", *far)
    assert created.startswith("created org_") and f"({name}, tier enterprise)" in created

    secret = ok("keys", "create", "--org", name, "--name", "ci", "--expires-in-days", "2", "-q", *far).strip()
    assert secret.startswith("vg_live_") and works(stack, secret) == 200
    [key] = json_lines(ok("keys", "list", "--org", name, "--json", *far))
    assert key["organization"] == name and key["expires_at"] and not key["revoked_at"]

    rotated = ok("keys", "rotate", str(key["id"]), *far)
    assert f"for organization {name}." in rotated
    new_secret = rotated.strip().splitlines()[-1]
    assert works(stack, new_secret) == 200 and works(stack, secret) == 200  # both, until the old one is revoked
    old, new = json_lines(ok("keys", "list", "--org", name, "--json", *far))
    assert (old["id"], new["name"], new["expires_at"]) == (key["id"], "ci", key["expires_at"])
    assert ok("keys", "revoke", str(old["id"]), *far).strip() == f"revoked {old['id']}"
    assert works(stack, secret) == 401 and works(stack, new_secret) == 200

    assert ok("orgs", "set-tier", name, "restricted", *far).strip() == f"{name} is now on tier restricted"
    assert ok("orgs", "suspend", name, *far).strip() == f"suspended {name}"
    assert works(stack, new_secret) == 403
    ok("orgs", "activate", name, *far)
    assert works(stack, new_secret) == 200

    application = pending_application(f"Applicant {secrets.token_hex(3)}")
    assert application in [r["id"] for r in json_lines(ok("access-requests", "list", "--json", *far))]
    first_key = ok("access-requests", "approve", application, "--tier", "enterprise", "-q", *far).strip()
    assert works(stack, first_key) == 200
    approved = json_lines(ok("access-requests", "list", "--status", "approved", "--json", *far))
    assert application in [r["id"] for r in approved]

    hook = httpx.post(
        f"{stack.base_url}/webhook_endpoints",
        headers={"Authorization": f"Bearer {new_secret}"},
        json={"url": "http://127.0.0.2:9/remote-operator"},
    )
    assert hook.status_code == 200, hook.text
    [endpoint] = json_lines(ok("webhooks", "endpoints", "--org", name, "--json", *far))
    assert (endpoint["id"], endpoint["status"]) == (hook.json()["id"], "enabled")

    # The same commands on the same data, locally: the same output, tables and JSON alike.
    for command in (
        ["orgs", "list", "--json"],
        ["keys", "list", "--org", name],
        ["access-requests", "list", "--status", "approved", "--json"],
        ["tiers", "list", "--json"],
        ["usage", "--org", name, "--json"],
        ["webhooks", "endpoints", "--org", name, "--json"],
    ):
        wide = {"COLUMNS": "250"}
        assert ok(*command, env=wide) == ok(*command, *far, env=wide), command


def test_the_queue_and_the_failures_through_the_admin_api_print_what_local_mode_prints(local: ServiceStack) -> None:
    stack, far = local, remote(local)
    name = f"Jobs Co {secrets.token_hex(3)}"
    secret = ok("keys", "create", "--org", name, "-q", *far).strip()
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=60) as http:
        doomed = http.post("/videos", json={**QUICK, "model": BROKEN_MODEL}).json()
        fine = http.post("/videos", json=QUICK).json()
        assert wait_for(http, doomed["id"], finished)["status"] == "failed"
        assert wait_for(http, fine["id"], finished)["status"] == "completed"

    [failure] = json_lines(ok("videos", "list", "--org", name, "--status", "failed", "--json", *far))
    assert (failure["id"], failure["organization_name"], failure["error"]["code"]) == (
        doomed["id"],
        name,
        "model_unavailable",
    )
    assert failure["worker"] and failure["attempts"] == 1
    listed = json_lines(ok("videos", "list", "--org", name, "--json", *far))
    assert [v["id"] for v in listed] == [fine["id"], doomed["id"]]  # newest first
    assert [v["id"] for v in json_lines(ok("videos", "list", "--org", name, "--limit", "1", "--json", *far))] == [
        fine["id"]
    ]

    # The worker that ran them was seen; every served model is listed, idle ones with zeros.
    board = json.loads(ok("queue", "--window", "3600", "--json", *far))
    served = json.loads(stack.env["VIDEOGEN_MODELS"])
    assert [q["model"] for q in board["data"]][: len(served)] == served and board["window_seconds"] == 3600
    by_model = {q["model"]: q for q in board["data"]}
    assert failure["worker"] in by_model[BROKEN_MODEL]["workers_seen"]
    table = ok("queue", *far, env={"COLUMNS": "250"})
    assert all(model in table for model in served) and "oldest_wait" in table

    # The same commands locally: the same output.
    local_board = json.loads(ok("queue", "--window", "3600", "--json"))
    assert [(q["model"], q["workers_seen"]) for q in local_board["data"]] == [
        (q["model"], q["workers_seen"]) for q in board["data"]
    ]
    for command in (
        ["videos", "list", "--org", name, "--json"],
        ["videos", "list", "--org", name, "--status", "failed"],
        ["videos", "get", doomed["id"], "--json"],
        ["videos", "get", fine["id"]],
    ):
        wide = {"COLUMNS": "250"}
        assert ok(*command, env=wide) == ok(*command, *far, env=wide), command

    assert "No organization 'no-such-org'" in failed("videos", "list", "--org", "no-such-org", *far)
    assert "unknown status 'done'" in failed("videos", "list", "--status", "done", *far)
    assert "No video found" in failed("videos", "get", "video_nope", *far)
    assert "No video found" in failed("videos", "get", "video_nope")


def test_a_rotated_key_keeps_the_old_keys_expiry_unless_the_rotation_gives_one(admin: httpx.Client) -> None:
    org = admin.post("/organizations", json={"name": f"expiring-{secrets.token_hex(3)}"}).json()
    assert org["tier"] == "enterprise"  # the deployment's VIDEOGEN_DEFAULT_TIER
    old = admin.post(f"/organizations/{org['id']}/keys", json={"expires_in_seconds": 3600}).json()
    kept = admin.post(f"/keys/{old['id']}/rotate").json()
    assert kept["expires_at"] == old["expires_at"] and kept["id"] != old["id"]

    asked = time.time()
    renewed = admin.post(f"/keys/{kept['id']}/rotate", json={"expires_in_seconds": 86400}).json()
    assert asked + 86400 - 5 <= renewed["expires_at"] <= time.time() + 86400

    forever = admin.post(f"/organizations/{org['id']}/keys", json={}).json()
    assert admin.post(f"/keys/{forever['id']}/rotate").json()["expires_at"] is None

    bad = admin.post(f"/keys/{old['id']}/rotate", json={"expires_in_seconds": 0})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"

    # The keys list pages like the public lists: a cursor, oldest first on request.
    listed = admin.get(f"/organizations/{org['id']}/keys", params={"limit": 2, "order": "asc"}).json()
    assert listed["object"] == "list" and listed["has_more"] is True
    assert [k["id"] for k in listed["data"]] == [old["id"], kept["id"]] and listed["last_id"] == kept["id"]
    rest = admin.get("/keys", params={"organization": org["name"], "after": kept["id"], "order": "asc"}).json()
    assert [k["id"] for k in rest["data"]][:2] == [renewed["id"], forever["id"]] and rest["has_more"] is False


def test_admin_lists_are_list_envelopes(admin: httpx.Client) -> None:
    for path in ("/organizations", "/keys", "/access_requests", "/webhook_endpoints", "/webhook_deliveries", "/videos"):
        body = admin.get(path, params={"limit": 1}).json()
        assert set(body) == {"object", "data", "first_id", "last_id", "has_more"}, path
        assert body["object"] == "list" and len(body["data"]) <= 1
    tiers = admin.get("/tiers").json()
    assert tiers["object"] == "list" and "enterprise" in [t["name"] for t in tiers["data"]]


def test_remote_failures_are_one_line_and_exit_1(embedded_stack: ServiceStack) -> None:
    far = remote(embedded_stack)
    line = failed("orgs", "set-tier", "no-such-org", "enterprise", *far)
    assert line == "error: HTTP 404 from the admin API: No organization 'no-such-org'. (not_found)"
    assert "Unknown tier 'platinum'" in failed("orgs", "create", "x", "--tier", "platinum", *far)
    assert "Incorrect admin token" in failed(
        "orgs", "list", "--base-url", embedded_stack.base_url, "--admin-token", "no"
    )
    assert "VIDEOGEN_ADMIN_TOKEN" in failed(
        "orgs", "list", "--base-url", embedded_stack.base_url, env={"VIDEOGEN_ADMIN_TOKEN": ""}
    )
    closed = f"http://127.0.0.1:{free_port()}/v1"
    assert f"cannot reach the admin API at {closed}/admin" in failed("orgs", "list", "--base-url", closed, *far[2:])
    assert "not an http:// or https:// URL" in failed("tiers", "list", "--base-url", "ftp://x", *far[2:])
    assert "--expires-in-days" in failed("keys", "rotate", "key_x", "--expires-in-days", "0", *far)
    assert "No webhook delivery" in failed("webhooks", "redeliver", "whdel_nope", *far)


def test_ids_are_never_cut_in_a_narrow_terminal(local: ServiceStack) -> None:
    far = remote(local)
    name = f"Narrow {secrets.token_hex(3)}"
    issued = ok("keys", "create", "--org", name, *far).split()
    key_id = issued[issued.index("key") + 1]
    application = pending_application("A company with a long name that needs a lot of room")

    narrow, wide = {"COLUMNS": "60"}, {"COLUMNS": "250"}
    listing = ok("access-requests", "list", *far, env=narrow)
    assert application in listing and "…" not in listing
    assert listing != ok("access-requests", "list", *far, env=wide)  # the width did apply
    assert key_id in ok("keys", "list", "--org", name, *far, env=narrow)


def test_local_mode_never_creates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a directory that holds no deployment: one line saying where it looked, nothing created."""
    for name in [n for n in os.environ if n.startswith("VIDEOGEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        line = failed("orgs", "list")
        assert str(tmp_path / "var" / "videogen.db") in line and "videogen db upgrade" in line and "--base-url" in line
        assert failed("keys", "create", "--org", "x") == line  # a write fails the same way, before writing
        assert not (tmp_path / "var").exists()

        (tmp_path / "var").mkdir()
        sqlite3.connect(tmp_path / "var" / "videogen.db").close()  # a file, but no schema
        assert "not migrated" in failed("access-requests", "list")

        monkeypatch.setenv("VIDEOGEN_DATABASE_URL", f"postgresql+psycopg://videogen@127.0.0.1:{free_port()}/none")
        get_settings.cache_clear()
        line = failed("usage", "--org", "x")
        assert line.startswith("error: cannot reach the database at postgresql+psycopg://videogen@127.0.0.1:")

        ok("tiers", "list")  # the tiers file needs no database
    finally:
        get_settings.cache_clear()
