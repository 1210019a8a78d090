"""API keys: who may call, and what each organization may see."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.helpers import assert_error
from tests.stack import ServiceStack, videogen_cli


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_authorization_header"),
        ({"Authorization": "Bearer"}, "invalid_authorization_header"),
        ({"Authorization": "Bearer vg_live_not-a-real-key"}, "invalid_api_key"),
    ],
    ids=["missing", "wrong-scheme", "empty-bearer", "unknown"],
)
def test_requests_without_a_valid_key_get_401(stack: ServiceStack, headers: dict[str, str], code: str) -> None:
    for method, path in [("GET", "/videos"), ("POST", "/videos"), ("GET", "/videos/video_x"), ("GET", "/models")]:
        response = httpx.request(method, stack.base_url + path, headers=headers, json={"prompt": "x"})
        assert_error(response, 401, "authentication_error", code)


def test_sdk_raises_authentication_error_for_unknown_key(stack: ServiceStack) -> None:
    with openai.OpenAI(base_url=stack.base_url, api_key="vg_live_wrong", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError):
            sdk.videos.list()


def test_revoked_key_is_refused_at_once(stack: ServiceStack) -> None:
    key = stack.create_key("revocation-co")
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{stack.base_url}/videos", headers=headers).status_code == 200

    listing = videogen_cli(stack.env, "keys", "list", "--org", "revocation-co", "--json").stdout
    assert key not in listing  # keys are listed by prefix only
    [row] = [json.loads(line) for line in listing.splitlines()]
    assert key.startswith(row["prefix"]) and row["revoked_at"] == ""
    videogen_cli(stack.env, "keys", "revoke", row["id"])
    [row] = [
        json.loads(line)
        for line in videogen_cli(stack.env, "keys", "list", "--org", "revocation-co", "--json").stdout.splitlines()
    ]
    assert row["revoked_at"]

    assert_error(httpx.get(f"{stack.base_url}/videos", headers=headers), 401, "authentication_error", "api_key_revoked")


def test_other_organizations_videos_are_invisible(stack: ServiceStack, http: httpx.Client) -> None:
    video = http.post("/videos", json={"prompt": "private footage", "num_inference_steps": 1}).json()
    intruder = {"Authorization": f"Bearer {stack.create_key('intruder-inc')}"}

    for method, path in [
        ("GET", f"/videos/{video['id']}"),
        ("GET", f"/videos/{video['id']}/content"),
        ("POST", f"/videos/{video['id']}/cancel"),
        ("DELETE", f"/videos/{video['id']}"),
    ]:
        assert_error(httpx.request(method, stack.base_url + path, headers=intruder), 404, "invalid_request_error")
    listed = httpx.get(f"{stack.base_url}/videos", headers=intruder).json()
    assert video["id"] not in [v["id"] for v in listed["data"]]

    # ...and the owner still has it, untouched.
    assert http.get(f"/videos/{video['id']}").json()["status"] != "cancelled"
