"""The operator's console, signed in with the admin token: a company's application approved onto a
tier (its first key shown once, and working through the openai SDK) or rejected with a reason; an
organization's tier, suspension and keys; the queue per model and the recent failures.

Each check of what the console did goes through the public API too: a key the page showed is used
with the SDK or plain HTTP, a suspension is seen as the API's refusal.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.conftest import PHONE, Console
from tests.helpers import (
    ADMIN_TOKEN,
    BROKEN_MODEL,
    MISFIT_MODEL,
    QUICK,
    SERVED_TINY_TWINS,
    assert_error,
    finished,
    wait_for,
)
from tests.stack import ServiceStack

# A loopback address of this module's own for its applications: the test stack allows 5 per hour
# per address, and other tests' applications from 127.0.0.1 must not count against these.
APPLICANT_ADDRESS = "127.0.0.13"
RENDERED = 120_000  # ms: a page that waits on a job, on a loaded 2-core machine


@pytest.fixture
def admin(embedded_stack: ServiceStack) -> Iterator[httpx.Client]:
    """The admin API over plain HTTP, to read what the console did."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{embedded_stack.base_url}/admin", headers=headers, timeout=30) as client:
        yield client


def keyed(stack: ServiceStack, key: str) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def shown_key(page: Page, label: str) -> str:
    """The secret in the shown-once box named `label`, as the operator reads it off the page."""
    box = page.get_by_role("group", name=label)
    expect(box).to_contain_text("Shown once")
    key = box.locator("code").inner_text().strip()
    assert key.startswith("vg_live_"), key
    return key


def card(page: Page, company: str) -> Locator:
    return page.get_by_role("article", name=company)


def test_a_company_applies_and_the_operator_approves_it_onto_a_tier_and_rejects_another(
    console: Console, embedded_stack: ServiceStack
) -> None:
    tag = secrets.token_hex(3)
    company, declined = f"Lumen Films {tag}", f"Spam Co {tag}"
    transport = httpx.HTTPTransport(local_address=APPLICANT_ADDRESS)
    with httpx.Client(base_url=embedded_stack.base_url, transport=transport, timeout=30) as public:  # no key
        for name, use_case in [(company, "Storyboards for a feature film,\nabout 40 shots a week."), (declined, "?")]:
            applied = public.post(
                "/access_requests", json={"company": name, "contact_email": f"ops@{tag}.example", "use_case": use_case}
            )
            assert applied.status_code == 200, applied.text

    console.sign_in(ADMIN_TOKEN, operator=True)
    page = console.page
    expect(page.get_by_role("heading", name="Access requests", level=1)).to_be_focused()
    expect(page.get_by_label("Status")).to_have_value("pending")  # pending ones by default
    application = card(page, company)
    expect(application).to_contain_text(f"ops@{tag}.example")
    expect(application).to_contain_text("about 40 shots a week")
    expect(application.locator(".badge")).to_have_text("pending")
    console.screenshot("operator-access-requests")

    application.get_by_role("button", name="Approve…").click()
    expect(application.get_by_label("Tier")).to_be_focused()
    application.get_by_label("Tier").select_option("internal-testing")
    application.get_by_label("Organization name").fill(f"Lumen {tag}")
    application.get_by_role("button", name="Approve", exact=True).click()
    key = shown_key(page, f"API key for Lumen {tag}")
    expect(application.get_by_role("button", name="Copy")).to_be_focused()
    expect(application.locator(".badge")).to_have_text("approved")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=embedded_stack.root_url)
    application.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    console.screenshot("operator-approved-key")

    # The key the page showed is the organization's, on the chosen tier, through the SDK and HTTP.
    with openai.OpenAI(base_url=embedded_stack.base_url, api_key=key, max_retries=0) as sdk:
        assert "hunyuanvideo-tiny" in [model.id for model in sdk.models.list()]
        assert list(sdk.videos.list()) == []
    with keyed(embedded_stack, key) as customer:
        assert customer.get("/usage").json()["tier"] == "internal-testing"

    other = card(page, declined)
    other.get_by_role("button", name="Reject…").click()
    other.get_by_label("Reason").fill("Not a use case we serve.")
    other.get_by_role("button", name="Reject request").click()
    expect(other.locator(".badge")).to_have_text("rejected")
    expect(other).to_contain_text("Not a use case we serve.")

    # Decided requests leave the pending list (read again from its link), and each filter finds its own.
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Access requests").click()
    expect(card(page, company)).to_have_count(0)
    page.get_by_label("Status").select_option("rejected")
    expect(card(page, declined)).to_contain_text("Not a use case we serve.")
    expect(card(page, company)).to_have_count(0)
    page.get_by_label("Status").select_option("approved")
    expect(card(page, company).get_by_role("link", name="org_")).to_be_visible()


def test_an_operator_runs_an_organization_tier_suspension_and_keys(
    console: Console, embedded_stack: ServiceStack, admin: httpx.Client
) -> None:
    tag = secrets.token_hex(3)
    name = f"Northwind {tag}"
    # Older than the one made below and a page's worth (20): the list needs its "Load more".
    fillers = [f"Studio {n:02d} {tag}" for n in range(21)]
    for filler in fillers:
        assert admin.post("/organizations", json={"name": filler}).status_code == 200
    console.sign_in(ADMIN_TOKEN, operator=True)
    page = console.open("/operator/organizations")
    # A refusal is shown in the API's words, next to the form.
    page.get_by_label("Name", exact=True).fill(fillers[0])
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("alert")).to_contain_text(f"An organization named '{fillers[0]}' already exists.")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Tier").select_option("restricted")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_focused()
    org_id = page.url.rsplit("/", 1)[-1]
    assert admin.get(f"/organizations/{org_id}").json()["tier"] == "restricted"
    expect(page.get_by_text("No keys yet.")).to_be_visible()

    # A key, shown once, that works.
    page.get_by_label("Key name").fill("production")
    page.get_by_label("Lifetime").select_option(label="30 days")
    page.get_by_role("button", name="Create key").click()
    first = shown_key(page, "New key production")
    with keyed(embedded_stack, first) as customer:
        assert customer.get("/usage").json()["tier"] == "restricted"
        [listed] = admin.get(f"/organizations/{org_id}/keys").json()["data"]
        assert listed["expires_at"] - listed["created_at"] == pytest.approx(30 * 86400, abs=5)

        # Tier, then suspension: the key is refused with the API's error at once, until activated.
        page.get_by_label("Tier", exact=True).select_option("enterprise")
        page.get_by_role("button", name="Change tier").click()
        expect(page.get_by_text(f"{name} is now on enterprise")).to_be_visible()
        assert customer.get("/usage").json()["tier"] == "enterprise"
        page.get_by_role("button", name="Suspend", exact=True).click()
        page.get_by_role("button", name="Yes, suspend").click()
        expect(page.get_by_role("button", name="Activate")).to_be_focused()
        assert_error(customer.get("/videos"), 403, "permission_error", "organization_suspended")
        page.get_by_role("button", name="Activate").click()
        expect(page.get_by_role("button", name="Suspend", exact=True)).to_be_visible()
        assert customer.get("/videos").status_code == 200

    # Rotation: a second key, shown once; the first keeps working until it is revoked.
    prefix = first[: len(listed["prefix"])]
    page.get_by_role("button", name=f"Rotate production ({prefix}…)").click()
    second = shown_key(page, f"Replacement for production ({prefix}…)")
    expect(page.get_by_role("group", name=f"Replacement for production ({prefix}…)")).to_contain_text(
        "keeps working until you revoke it"
    )
    assert second != first
    for key in (first, second):
        with openai.OpenAI(base_url=embedded_stack.base_url, api_key=key, max_retries=0) as sdk:
            assert list(sdk.videos.list()) == []

    # Revocation asks first, from the keyboard: Escape takes the question back.
    revoke = page.get_by_role("button", name=f"Revoke production ({prefix}…)")
    revoke.click()
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(revoke).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Yes, revoke")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Key production ({prefix}…) revoked.")).to_be_visible()
    first_row = page.get_by_role("row").filter(has_text=f"{prefix}…")
    expect(first_row.locator(".badge")).to_have_text("revoked")
    with keyed(embedded_stack, first) as old, keyed(embedded_stack, second) as new:
        assert_error(old.get("/videos"), 401, "authentication_error", "api_key_revoked")
        assert new.get("/videos").status_code == 200
    expect(page.get_by_role("heading", name="Usage, ")).to_be_visible()
    console.screenshot("operator-organization")

    page.get_by_role("link", name="Organizations", exact=True).first.click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("enterprise")
    expect(row.locator(".badge")).to_have_text("active")
    console.screenshot("operator-organizations")
    # Newest first, 20 a page: the two oldest fillers are on the next one.
    expect(page.get_by_role("link", name=fillers[2], exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=fillers[1], exact=True)).to_have_count(0)
    page.get_by_role("button", name="Load more").click()
    expect(page.get_by_role("link", name=fillers[0], exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=name)).to_have_count(1)  # the first page stays, once


def test_the_queue_lists_every_model_and_a_failed_job_is_among_the_failures(
    console: Console, embedded_stack: ServiceStack, admin: httpx.Client
) -> None:
    key = embedded_stack.create_key(f"queue-{secrets.token_hex(3)}")
    with keyed(embedded_stack, key) as customer:
        broken = customer.post("/videos", json={**QUICK, "prompt": "doomed", "model": BROKEN_MODEL}).json()
        done = customer.post("/videos", json={**QUICK, "model": "hunyuanvideo-tiny"}).json()
        failed = wait_for(customer, broken["id"], finished)
        assert failed["status"] == "failed" and failed["error"]["code"] == "model_unavailable"
        assert wait_for(customer, done["id"], finished)["status"] == "completed"
    worker = admin.get(f"/videos/{done['id']}").json()["worker"]
    seen = admin.get(f"/videos/{broken['id']}").json()  # the operator's view: organization, attempts, worker
    assert worker and seen["worker"]

    console.sign_in(ADMIN_TOKEN, operator=True)
    page = console.open("/operator/queue")
    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_focused()
    for model in [*SERVED_TINY_TWINS, BROKEN_MODEL, MISFIT_MODEL]:  # every served model, idle ones too
        numbers = queue_row(page, model).locator("td.number")
        expect(numbers).to_have_count(2)  # queued, running
        expect(numbers.first).to_have_text(re.compile(r"^\d+$"))
        expect(numbers.last).to_have_text(re.compile(r"^\d+$"))
    expect(queue_row(page, "hunyuanvideo-tiny")).to_contain_text(worker)
    expect(queue_row(page, BROKEN_MODEL)).to_contain_text(seen["worker"])
    # Read again every few seconds while open.
    refreshed = page.locator(".refreshed")
    expect(refreshed).to_contain_text("Last refreshed")
    first_read = refreshed.inner_text()
    expect(refreshed).not_to_have_text(first_read, timeout=15_000)
    console.screenshot("operator-queue")

    queue_reads: list[float] = []
    page.on("request", lambda request: queue_reads.append(time.monotonic()) if "/admin/queue" in request.url else None)
    page.get_by_role("link", name="Failures").click()
    left_at = time.monotonic()
    row = page.get_by_role("row").filter(has_text=broken["id"])
    expect(row).to_contain_text("model_unavailable", timeout=RENDERED)
    expect(row).to_contain_text(f"'{BROKEN_MODEL}' could not be loaded")
    expect(row).to_contain_text(BROKEN_MODEL)
    expect(row.get_by_role("link", name=seen["organization_name"])).to_have_attribute(
        "href", f"#/operator/organizations/{seen['organization_id']}"
    )
    expect(row).to_contain_text(f"{seen['attempts']} · {seen['worker']}")
    console.screenshot("operator-failures")

    # On a phone the page fits the screen: the table scrolls inside its frame, not the page.
    page.set_viewport_size(PHONE)
    expect(row).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    console.screenshot("operator-failures-phone")
    # The queue's timer stopped when the reader left its page.
    page.wait_for_timeout(max(0, 4000 - (time.monotonic() - left_at) * 1000))
    assert not [read for read in queue_reads if read > left_at + 0.5], "the queue kept refreshing after leaving it"


def queue_row(page: Page, model: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=model, exact=True))
