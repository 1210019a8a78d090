"""The console's page and sign-in: served from the package with a strict policy, and a credential
that is checked before it is kept, kept in the tab only, and forgotten on sign-out."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.console.conftest import PHONE, Console
from tests.helpers import ADMIN_TOKEN
from tests.stack import ServiceStack


def test_the_page_and_its_assets_come_from_this_server_with_a_strict_policy(embedded_stack: ServiceStack) -> None:
    page = httpx.get(f"{embedded_stack.root_url}/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    # Everything the page loads is a path on this server: no CDN, no other origin.
    links = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert links and all(link.startswith("/") for link in links), links
    for link in links:
        asset = httpx.get(f"{embedded_stack.root_url}{link}")
        assert asset.status_code == 200, link
    slash = httpx.get(f"{embedded_stack.root_url}/console/")
    assert (slash.status_code, slash.headers["location"]) == (308, "/console")


def test_an_unknown_asset_is_a_404_in_the_error_format(embedded_stack: ServiceStack) -> None:
    answer = httpx.get(f"{embedded_stack.root_url}/console/assets/nothing-here.js")
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_a_key_that_does_not_work_is_refused_with_the_apis_message(console: Console) -> None:
    page = console.open()
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    page.get_by_label("API key", exact=True).fill("vg_live_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("was not accepted")
    assert page.evaluate("sessionStorage.length") == 0
    console.screenshot("sign-in-refused")


def test_signing_in_keeps_the_credential_in_the_tab_only_and_signing_out_forgets_it(
    console: Console, embedded_stack: ServiceStack
) -> None:
    console.sign_in(embedded_stack.create_key("console-shell"))
    page = console.page
    nav = page.get_by_role("navigation", name="Console sections")
    expect(nav.get_by_role("link", name="Playground")).to_be_visible()
    assert page.context.cookies() == []  # nothing the server could read without the tab's consent
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_an_operator_signs_in_with_the_admin_token(console: Console) -> None:
    console.sign_in(ADMIN_TOKEN, operator=True)
    nav = console.page.get_by_role("navigation", name="Console sections")
    expect(nav.get_by_role("link", name="Access requests")).to_be_visible()
    expect(nav.get_by_role("link", name="Playground")).to_have_count(0)


def test_the_sign_in_page_is_usable_from_the_keyboard_on_a_phone(
    console_factory: Callable[..., Console], embedded_stack: ServiceStack
) -> None:
    console = console_factory(PHONE)
    page = console.open()
    page.get_by_label("API key", exact=True).focus()
    page.keyboard.type(embedded_stack.create_key("console-keyboard"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    console.screenshot("phone-signed-in")
