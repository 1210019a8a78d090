"""The operator's side: organizations, keys, access applications, usage, idempotent creates."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.helpers import ADMIN_TOKEN, LONG_JOB, QUICK, assert_error, finished, keyed_client, wait_for
from tests.stack import ServiceStack, videogen_cli


@pytest.fixture
def admin(production_stack: ServiceStack) -> httpx.Client:
    with httpx.Client(
        base_url=f"{production_stack.base_url}/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    ) as client:
        yield client  # type: ignore[misc]


def test_admin_api_takes_the_admin_token_only(production_stack: ServiceStack) -> None:
    url = f"{production_stack.base_url}/admin/organizations"
    assert_error(httpx.get(url), 401, "authentication_error", "missing_api_key")
    assert_error(httpx.get(url, headers={"Authorization": "Bearer nope"}), 401, "authentication_error")
    ordinary_key = production_stack.create_key("not-an-admin")
    assert_error(httpx.get(url, headers={"Authorization": f"Bearer {ordinary_key}"}), 401, "authentication_error")


def test_access_application_from_request_to_a_working_key(production_stack: ServiceStack, admin: httpx.Client) -> None:
    application = {"company": "Lumen Films", "contact_email": "ops@lumen.example", "use_case": "Storyboards"}
    created = httpx.post(f"{production_stack.base_url}/access_requests", json=application)  # no key needed
    assert created.status_code == 200, created.text
    request = created.json()
    assert request["status"] == "pending" and request["id"].startswith("areq_")

    pending = admin.get("/access_requests", params={"status": "pending"}).json()
    assert pending["object"] == "list" and pending["first_id"] == pending["data"][0]["id"]
    assert request["id"] in [r["id"] for r in pending["data"]]

    approval = admin.post(f"/access_requests/{request['id']}/approve", json={"tier": "internal-testing"}).json()
    assert approval["access_request"]["status"] == "approved"
    assert approval["organization"]["name"] == "Lumen Films"
    assert approval["organization"]["tier"] == "internal-testing"
    secret = approval["api_key"]["secret"]
    assert secret.startswith("vg_live_")

    with openai.OpenAI(base_url=production_stack.base_url, api_key=secret, max_retries=0) as client:
        assert client.videos.create_and_poll(prompt="first light", poll_interval_ms=200).status == "completed"

    # A decision is final, and the key is never shown again.
    again = admin.post(f"/access_requests/{request['id']}/approve", json={"tier": "enterprise"})
    assert_error(again, 400, "invalid_request_error", "access_request_decided")
    keys = admin.get(f"/organizations/{approval['organization']['id']}/keys").json()["data"]
    assert [k["secret"] for k in keys] == [None]


def test_access_requests_are_validated_and_rejected_through_the_cli(production_stack: ServiceStack) -> None:
    url = f"{production_stack.base_url}/access_requests"
    bad = httpx.post(url, json={"company": "X", "contact_email": "not-an-email", "use_case": "y"})
    assert assert_error(bad, 400, "invalid_request_error")["param"] == "contact_email"

    request = httpx.post(url, json={"company": "Spam Co", "contact_email": "a@spam.example", "use_case": "?"}).json()
    listed = videogen_cli(production_stack.env, "access-requests", "list", "--json").stdout
    assert request["id"] in [json.loads(line)["id"] for line in listed.splitlines()]
    videogen_cli(production_stack.env, "access-requests", "reject", request["id"], "--reason", "not a fit")
    listed = videogen_cli(production_stack.env, "access-requests", "list", "--status", "rejected", "--json").stdout
    assert request["id"] in [json.loads(line)["id"] for line in listed.splitlines()]


def test_access_requests_are_rate_limited_per_client_ip(embedded_stack: ServiceStack) -> None:
    url = f"{embedded_stack.base_url}/access_requests"
    body = {"company": "Eager Inc", "contact_email": "x@eager.example", "use_case": "lots"}
    statuses = [httpx.post(url, json=body).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = httpx.post(url, json=body)
    assert_error(refused, 429, "rate_limit_error", "rate_limit_exceeded")
    assert int(refused.headers["Retry-After"]) > 0


def test_suspension_stops_keys_at_once_and_holds_queued_jobs(production_stack: ServiceStack) -> None:
    stack = production_stack
    with keyed_client(stack, "enterprise") as busy, keyed_client(stack, "enterprise") as tenant:
        org = tenant.get("/usage").json()["organization_id"]
        blocker = busy.post("/videos", json={**LONG_JOB, "prompt": "busy"}).json()
        wait_for(busy, blocker["id"], lambda v: v["status"] == "in_progress")
        held = tenant.post("/videos", json={**QUICK, "prompt": "held"}).json()
        other = busy.post("/videos", json={**QUICK, "prompt": "other org"}).json()

        videogen_cli(stack.env, "orgs", "suspend", org)
        assert_error(tenant.get("/videos"), 403, "permission_error", "organization_suspended")
        assert_error(tenant.post("/videos", json=QUICK), 403, "permission_error", "organization_suspended")

        busy.post(f"/videos/{blocker['id']}/cancel")
        assert wait_for(busy, other["id"], finished)["status"] == "completed"  # the worker moved past it...
        time.sleep(1.5)
        listing = videogen_cli(stack.env, "orgs", "list", "--json").stdout
        [row] = [row for row in map(json.loads, listing.splitlines()) if row["id"] == org]
        assert row["status"] == "suspended"

        activated_at = int(time.time())
        videogen_cli(stack.env, "orgs", "activate", org)
        done = wait_for(tenant, held["id"], finished)
        assert done["status"] == "completed"
        assert done["started_at"] >= activated_at  # it waited out the whole suspension


def test_tier_changes_apply_from_the_next_request(production_stack: ServiceStack, admin: httpx.Client) -> None:
    with keyed_client(production_stack, "enterprise") as http:
        org = http.get("/usage").json()["organization_id"]
        assert http.post("/videos", json={**QUICK, "size": "256x256"}).status_code == 200
        patched = admin.patch(f"/organizations/{org}", json={"tier": "restricted"})
        assert patched.json()["tier"] == "restricted"
        assert_error(http.post("/videos", json={**QUICK, "size": "256x256"}), 403, "permission_error", "tier_limit")
        assert_error(admin.patch(f"/organizations/{org}", json={"tier": "platinum"}), 400, "invalid_request_error")


def test_key_rotation_overlap_then_revocation(production_stack: ServiceStack, admin: httpx.Client) -> None:
    org = admin.post("/organizations", json={"name": "Rotating Ltd", "tier": "enterprise"}).json()
    old = admin.post(f"/organizations/{org['id']}/keys", json={"name": "ci"}).json()
    new = admin.post(f"/keys/{old['id']}/rotate").json()
    assert new["id"] != old["id"] and new["name"] == "ci" and new["secret"] != old["secret"]

    def works(secret: str) -> int:
        return httpx.get(
            f"{production_stack.base_url}/videos", headers={"Authorization": f"Bearer {secret}"}
        ).status_code

    assert works(old["secret"]) == 200 and works(new["secret"]) == 200  # both, during the roll-out
    admin.post(f"/keys/{old['id']}/revoke")
    assert works(old["secret"]) == 401 and works(new["secret"]) == 200

    listed = {k["id"]: k for k in admin.get(f"/organizations/{org['id']}/keys").json()["data"]}
    assert listed[old["id"]]["revoked_at"] is not None
    assert listed[new["id"]]["last_used_at"] is not None


def test_keys_can_expire(production_stack: ServiceStack, admin: httpx.Client) -> None:
    org = admin.post("/organizations", json={"name": "Short Lived", "tier": "enterprise"}).json()
    # Long enough that the first request lands before the expiry even on a loaded machine.
    key = admin.post(f"/organizations/{org['id']}/keys", json={"expires_in_seconds": 5}).json()
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert httpx.get(f"{production_stack.base_url}/videos", headers=headers).status_code == 200
    # Let the expiry pass (the time itself is the point); `expires_at` is in whole seconds, rounded down.
    time.sleep(max(0.0, key["expires_at"] + 1 - time.time()))
    response = httpx.get(f"{production_stack.base_url}/videos", headers=headers)
    assert_error(response, 401, "authentication_error", "api_key_expired")


def test_idempotency_key_returns_the_original_and_starts_no_second_job(stack: ServiceStack) -> None:
    with keyed_client(stack, "enterprise") as http:
        body = {**QUICK, "prompt": "exactly once"}
        first = http.post("/videos", json=body, headers={"Idempotency-Key": "order-1"})
        retry = http.post("/videos", json=dict(reversed(body.items())), headers={"Idempotency-Key": "order-1"})
        assert first.status_code == retry.status_code == 200
        assert retry.json()["id"] == first.json()["id"]
        assert retry.headers["Idempotent-Replayed"] == "true"

        changed = http.post(
            "/videos", json={**body, "prompt": "something else"}, headers={"Idempotency-Key": "order-1"}
        )
        assert_error(changed, 409, "invalid_request_error", "idempotency_key_reused")

        with ThreadPoolExecutor(max_workers=10) as pool:
            racing = list(
                pool.map(lambda _: http.post("/videos", json=body, headers={"Idempotency-Key": "order-2"}), range(10))
            )
        assert {r.status_code for r in racing} == {200}
        assert len({r.json()["id"] for r in racing}) == 1

        listed = http.get("/videos", params={"limit": 100}).json()["data"]
        assert len(listed) == 2  # order-1 and order-2: one job each
        for video in listed:
            wait_for(http, video["id"], finished)


def test_usage_comes_from_the_database_and_survives_an_api_restart(production_stack: ServiceStack) -> None:
    with keyed_client(production_stack, "enterprise") as http:
        ids = [http.post("/videos", json={**QUICK, "seconds": s}).json()["id"] for s in ("1", "2")]
        for video_id in ids:
            wait_for(http, video_id, finished)
        before = http.get("/usage").json()
        [bucket] = before["data"]
        assert bucket["model"] == "hunyuanvideo-tiny"
        assert (bucket["jobs"], bucket["completed"], bucket["video_seconds"]) == (2, 2, 3.0)
        assert before["tier"] == "enterprise"

        production_stack.stop_api_only()
        production_stack.start_api()
        assert http.get("/usage").json() == before

        org = before["organization_id"]
        cli = json.loads(videogen_cli(production_stack.env, "usage", "--org", org, "--json").stdout)
        assert cli["data"][0]["jobs"] == 2
