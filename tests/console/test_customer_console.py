"""The customer's pages of the console, used as a customer uses them: generate from the playground
and follow the job live to its player, download and delete it from the grid; add a webhook
endpoint, test it and redeliver from its log; read usage against the quota; apply for access.

Each test is a whole journey in one browser tab (the suite's time goes into stacks and jobs, not
into more tests), and checks what the page shows against what the HTTP API says.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from standardwebhooks import Webhook

from tests.console.conftest import PHONE, Console
from tests.helpers import ADMIN_TOKEN, IMAGE_TO_VIDEO_TWINS, LONG_JOB, finished, noise_picture, wait_for
from tests.stack import ServiceStack, wait_until
from tests.webhook_receiver import WebhookReceiver

TINY = "hunyuanvideo-tiny"
# A tiny job renders in seconds, but the machine is shared: deadlines only bound failure.
JOB_TIMEOUT_MS = 120_000


@contextmanager
def customer_http(stack: ServiceStack, key: str) -> Iterator[httpx.Client]:
    """The same customer through the HTTP API, to check the pages against."""
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=70) as client:
        yield client


def new_key(stack: ServiceStack, name: str, tier: str | None = None) -> str:
    """A key of an organization of its own: usage, videos and endpoints are counted per organization."""
    return stack.create_key(f"{name}-{secrets.token_hex(3)}", tier=tier)


def quick_video(http: httpx.Client, prompt: str) -> dict[str, Any]:
    """A completed one-second video, made through the API (``Prefer: wait`` answers at its end)."""
    body = {"prompt": prompt, "model": TINY, "seconds": "1", "num_inference_steps": 1}
    video = http.post("/videos", json=body, headers={"Prefer": "wait=60"}).json()
    if not finished(video):  # a busy machine: the wait ran out first
        video = wait_for(http, video["id"], finished)
    assert video["status"] == "completed", video
    return video  # type: ignore[no-any-return]


def assert_shown_seconds(text: str, name: str, seconds: float) -> None:
    """The page shows `name` followed by `seconds`, in milliseconds under a second, else in
    seconds, rounded as shown (to the millisecond, or a tenth under 10 s)."""
    shown = re.search(rf"{name} ([\d.,]+) (ms|s)\b", text)
    assert shown, (name, text)
    value = float(shown[1].replace(",", "")) / (1000 if shown[2] == "ms" else 1)
    rounding = 0.0005 if shown[2] == "ms" else 0.05 if value < 10 else 0.5
    assert abs(value - seconds) <= rounding + 1e-9, (shown[0], seconds)


def go_to(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name=section).click()
    expect(page.get_by_role("heading", name=section, level=1)).to_be_visible()


def test_a_customer_generates_a_video_watches_it_live_plays_downloads_remixes_and_deletes_it(
    console: Console, embedded_stack: ServiceStack
) -> None:
    key = new_key(embedded_stack, "console-journey")
    console.sign_in(key)
    page = console.page
    expect(page.get_by_role("heading", name="Playground", level=1)).to_be_visible()

    # The form follows the model: an image input only for a model that animates one.
    model = page.get_by_label("Model", exact=True)
    model.select_option(IMAGE_TO_VIDEO_TWINS[0])
    expect(page.get_by_label("Image", exact=True)).to_be_visible()
    model.select_option(TINY)
    expect(page.get_by_label("Image", exact=True)).to_be_hidden()
    expect(page.get_by_label("Size", exact=True).locator("option")).to_have_count(4)  # the tiny model's sizes
    page.get_by_label("Prompt", exact=True).fill("A lighthouse in a storm, waves breaking on the rocks")
    page.get_by_label("Size", exact=True).select_option("128x128")
    page.get_by_label("Seconds", exact=True).fill("1")
    page.get_by_label("Steps", exact=True).fill("8")
    page.get_by_label("Seed", exact=True).fill("42")
    page.get_by_label("Negative prompt", exact=True).fill("blurry")
    console.screenshot("customer-playground")
    page.get_by_role("button", name="Generate").click()

    expect(page).to_have_url(re.compile(r"#/videos/video_"), timeout=30_000)
    video_id = page.url.split("#/videos/", 1)[1]
    progress = page.get_by_role("progressbar", name="Progress")
    status = page.locator("#status-title .badge")
    # Mark the bar and record every value it is given: the end must come to this same element,
    # from the event stream, with no reload or re-render of the page.
    progress.evaluate(
        """bar => {
            bar.dataset.mark = "first render";
            window.progressSeen = [bar.value];
            new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, {attributes: true});
        }"""
    )
    try:  # a picture of the job mid-run, if the stream shows one before the end (it is quick)
        page.wait_for_function(
            "() => document.querySelector('#status-title .badge')?.textContent === 'in progress'", timeout=15_000
        )
        console.screenshot("customer-video-running")
    except PlaywrightTimeoutError:
        pass
    expect(page.locator(".percent")).to_have_text("100%", timeout=JOB_TIMEOUT_MS)
    expect(progress).to_have_attribute("value", "100")
    expect(status).to_have_text("completed")
    expect(progress).to_have_attribute("data-mark", "first render")
    seen = page.evaluate("window.progressSeen")
    assert seen == sorted(seen) and seen[-1] == 100, seen
    facts = page.get_by_role("region", name="Parameters")
    expect(facts).to_contain_text("hunyuanvideo-tiny")
    expect(facts).to_contain_text("42")  # the seed asked for
    expect(facts).to_contain_text("per step")

    with customer_http(embedded_stack, key) as http:
        video = http.get(f"/videos/{video_id}").json()
        assert (video["status"], video["seed"], video["num_inference_steps"]) == ("completed", 42, 8)
        # Where the time went, to the precision it has: a step of a fraction of a second is not "0 s".
        assert_shown_seconds(facts.inner_text(), "per step", video["timings"]["seconds_per_step"])
        mp4 = http.get(f"/videos/{video_id}/content").content

        # The player plays the MP4 itself: its duration is the clip's.
        player = page.get_by_label("The generated video")
        duration = player.evaluate(
            """video => new Promise((resolve, reject) => {
                if (video.readyState >= 1) return resolve(video.duration);
                video.addEventListener("loadedmetadata", () => resolve(video.duration), {once: true});
                const failed = () => reject(new Error(`media error ${video.error?.code}`));
                video.addEventListener("error", failed, {once: true});
            })"""
        )
        assert abs(duration - video["num_frames"] / video["fps"]) < 0.5, (duration, video["num_frames"], video["fps"])
        expect(page.get_by_role("img", name="Thumbnail: the middle frame")).to_have_js_property("complete", True)
        console.screenshot("customer-video-completed")

        with page.expect_download() as downloading:
            page.get_by_role("link", name="Download MP4").click()
        download = downloading.value
        assert download.suggested_filename == f"{video_id}.mp4"
        assert Path(download.path()).read_bytes() == mp4

        # Remix: a new prompt, the rest (the seed included) from this video, followed on its own page.
        page.get_by_label("New prompt", exact=True).fill("The same lighthouse at dawn, on a calm sea")
        page.get_by_role("button", name="Remix").click()
        expect(page).not_to_have_url(re.compile(f"{video_id}$"))
        remix_id = page.url.split("#/videos/", 1)[1]
        expect(page.get_by_role("region", name="Parameters").get_by_role("link", name=video_id)).to_be_visible()
        remix = http.get(f"/videos/{remix_id}").json()
        assert (remix["remixed_from_video_id"], remix["seed"], remix["prompt"]) == (
            video_id,
            42,
            "The same lighthouse at dawn, on a calm sea",
        )

        # A long job, to cancel from the grid while it is queued or running (it takes 10 s and more).
        long_id = http.post("/videos", json={**LONG_JOB, "prompt": "a long one", "model": TINY}).json()["id"]
        try:
            go_to(page, "Videos")
            long_card = page.locator(f'.video-card[data-video-id="{long_id}"]')
            long_card.get_by_role("button", name="Cancel").click()
            expect(long_card.locator(".badge")).to_have_text("cancelled")
            assert http.get(f"/videos/{long_id}").json()["status"] == "cancelled"
            # The grid read again from its link in the navigation: now a cancelled card, never re-read.
            go_to(page, "Videos")
            expect(long_card.locator(".badge")).to_have_text("cancelled")
        finally:
            http.delete(f"/videos/{long_id}")  # never left holding the worker for the next tests

        # Deleted elsewhere meanwhile (just above): the confirm fails in the API's words and its Delete comes back,
        # focused, to the keyboard. The question starts on the safe choice; Escape takes it back.
        gone = http.delete(f"/videos/{long_id}").json()["error"]["message"]
        long_delete = long_card.get_by_role("button", name="Delete", exact=True)
        long_delete.click()
        expect(long_card.get_by_role("group", name="Delete this video and its files?")).to_be_visible()
        expect(long_card.get_by_role("button", name="Keep")).to_be_focused()
        page.keyboard.press("Escape")
        expect(long_delete).to_be_focused()
        page.keyboard.press("Enter")
        long_card.get_by_role("button", name="Yes, delete").click()
        expect(page.locator(".page-error").get_by_role("alert")).to_contain_text(gone)
        expect(long_delete).to_be_focused()

        # The grid: its card, with its thumbnail; the filters ask the API for what they say.
        card = page.locator(f'.video-card[data-video-id="{video_id}"]')
        expect(card.locator(".badge")).to_have_text("completed")
        title = card.get_by_role("link", name="A lighthouse in a storm")
        expect(title).to_have_attribute("href", f"#/videos/{video_id}")
        thumbnail = card.get_by_role("img")
        expect(thumbnail).to_have_attribute("src", re.compile(r"^blob:"))
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        thumbnail_url = thumbnail.get_attribute("src")
        console.screenshot("customer-videos")
        page.get_by_label("Status", exact=True).select_option("failed")
        expect(page.get_by_text("No video matches these filters.")).to_be_visible()
        expect(card).to_have_count(0)
        page.get_by_label("Status", exact=True).select_option("completed")
        page.get_by_label("Model", exact=True).select_option(TINY)
        expect(card).to_be_visible()

        # Delete asks once more, in the page; from the keyboard the confirm is one Shift+Tab away.
        card.get_by_role("button", name="Delete", exact=True).click()
        expect(card.get_by_role("button", name="Keep")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(card.get_by_role("button", name="Yes, delete")).to_be_focused()
        page.keyboard.press("Enter")
        expect(card).to_have_count(0)
        assert http.get(f"/videos/{video_id}").status_code == 404

    # Leaving the page lets its downloads go: the thumbnail's object URL no longer reads.
    go_to(page, "Usage")
    assert page.evaluate("url => fetch(url).then(() => true, () => false)", thumbnail_url) is False


def test_a_customer_adds_a_webhook_endpoint_tests_it_and_redelivers_from_its_log(
    console: Console, embedded_stack: ServiceStack, receiver: WebhookReceiver
) -> None:
    key = new_key(embedded_stack, "console-webhooks")
    url = receiver.url()
    console.sign_in(key)
    page = console.page
    go_to(page, "Webhooks")
    page.get_by_label("Endpoint URL", exact=True).fill(url)
    page.get_by_label("Name", exact=True).fill("Render farm")
    expect(page.get_by_label("video.completed")).to_be_checked()  # the API's default set
    expect(page.get_by_label("video.in_progress")).not_to_be_checked()
    page.get_by_role("button", name="Add endpoint").click()

    secret = page.get_by_role("group", name="Signing secret of Render farm").locator("code")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    signing_secret = secret.text_content() or ""
    endpoint = page.locator(".endpoint").filter(has_text=url)
    expect(endpoint.get_by_role("heading", name="Render farm")).to_be_visible()
    expect(endpoint.get_by_text("No delivery yet")).to_be_visible()

    # A test event: the receiver's answer is shown, and it is signed with the secret shown once.
    endpoint.get_by_label("Test event type").select_option("video.completed")
    endpoint.get_by_role("button", name="Send test event").click()
    expect(endpoint.locator(".test-result")).to_contain_text("The receiver answered HTTP 200")
    [test_event] = receiver.wait_for(url, 1)
    Webhook(signing_secret).verify(test_event.body, test_event.headers)

    # A real event lands in the log with its attempt; redelivering it adds a second attempt.
    with customer_http(embedded_stack, key) as http:
        video = quick_video(http, "a webhook's video")
        endpoint_id = endpoint.get_attribute("data-endpoint-id")

        def delivered() -> dict[str, Any] | None:
            found = http.get(f"/webhook_endpoints/{endpoint_id}/deliveries").json()["data"]
            return found[0] if found and found[0]["status"] == "succeeded" else None

        delivery = wait_until(delivered, 120, message="the video.completed delivery")
    endpoint.get_by_role("button", name="Refresh deliveries").click()
    row = endpoint.locator("tr", has=page.get_by_role("link", name=video["id"]))
    expect(row.get_by_role("cell", name="video.completed", exact=True)).to_be_visible()
    expect(row.locator(".badge")).to_have_text("succeeded")
    attempts = row.get_by_role("list", name=f"Attempts of delivery {delivery['id']}").get_by_role("listitem")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("HTTP 200")
    expect(attempts.first).to_contain_text(f"{delivery['attempt_log'][0]['latency_ms']} ms")
    row.get_by_role("button", name="Redeliver").click()
    expect(attempts).to_have_count(2, timeout=60_000)
    expect(row.locator(".badge")).to_have_text("succeeded")
    first, again = receiver.wait_for(url, 3)[1:]
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == delivery["id"]
    console.screenshot("customer-webhooks")

    # The secret was shown once: the page read again (its link in the navigation) has only its hint.
    go_to(page, "Webhooks")
    expect(page.locator(".secret")).to_have_count(0)
    expect(endpoint).to_be_visible()
    assert signing_secret not in (page.locator("main").text_content() or "")

    endpoint.get_by_role("button", name="Disable").click()
    expect(endpoint.get_by_role("heading").locator(".badge")).to_have_text("disabled")
    endpoint.get_by_role("button", name="Enable").click()
    expect(endpoint.get_by_role("heading").locator(".badge")).to_have_text("enabled")
    endpoint.get_by_role("button", name="Delete", exact=True).click()
    endpoint.get_by_role("button", name="Yes, delete").click()
    expect(endpoint).to_have_count(0)
    expect(page.get_by_text("No endpoint yet.")).to_be_visible()
    with customer_http(embedded_stack, key) as http:
        assert http.get("/webhook_endpoints").json()["data"] == []


def test_usage_is_charted_against_the_quota_and_the_playground_shows_the_apis_errors_on_a_phone(
    console: Console, embedded_stack: ServiceStack
) -> None:
    key = new_key(embedded_stack, "console-usage", tier="five-seconds-a-day")
    picture = io.BytesIO()
    noise_picture(width=64, height=64).save(picture, format="PNG")
    with customer_http(embedded_stack, key) as http:
        quick_video(http, "counted against the quota")
        usage = http.get("/usage").json()
        # The same request as the form will send below, for the message the page must show.
        refused = http.post(
            "/videos",
            data={"prompt": "animate this", "model": IMAGE_TO_VIDEO_TWINS[0], "size": "128x128", "input_fit": "exact"},
            files={"input_reference": ("small.png", picture.getvalue(), "image/png")},
        )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "input_reference", refused.text
    [bucket] = usage["data"]
    assert usage["today"]["video_seconds_limit"] == 5

    console.sign_in(key)
    page = console.page
    go_to(page, "Usage")
    chart = page.get_by_role("img", name="Video seconds per day")
    expect(chart).to_be_visible()
    quota = chart.locator(".quota-line")
    expect(quota).to_have_text("Daily quota 5 s")
    bar = chart.locator(f'rect[data-model="{TINY}"][data-date="{bucket["date"]}"]')
    expect(bar).to_have_count(1)
    # Drawn to scale: the bar's height is to the quota line's height what today's use is to the quota.
    baseline = float(chart.locator("line.axis").get_attribute("y1") or 0)
    quota_y = float(quota.locator("line").get_attribute("y1") or 0)
    bar_height = float(bar.get_attribute("height") or 0)
    assert abs(bar_height / (baseline - quota_y) - bucket["video_seconds"] / 5) < 0.02
    expect(page.get_by_role("list", name="Models")).to_contain_text(TINY)
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=TINY, exact=True))
    expect(row.get_by_role("rowheader")).to_have_text(bucket["date"])
    expect(row.get_by_role("cell").nth(1)).to_have_text(str(bucket["jobs"]))
    expect(page.get_by_role("region", name="Today")).to_contain_text("used of 5 s a day")
    console.screenshot("customer-usage")

    # On a phone: the playground, and an error the API gives shown with the field it names.
    page.set_viewport_size(PHONE)
    go_to(page, "Playground")
    page.get_by_label("Prompt", exact=True).fill("animate this")
    page.get_by_label("Model", exact=True).select_option(IMAGE_TO_VIDEO_TWINS[0])
    page.get_by_label("Size", exact=True).select_option("128x128")
    page.get_by_label("Seconds", exact=True).fill("")
    page.get_by_label("Steps", exact=True).fill("")
    image = page.get_by_label("Image", exact=True)
    image.set_input_files({"name": "small.png", "mimeType": "image/png", "buffer": picture.getvalue()})
    page.get_by_label("Image fit", exact=True).select_option("exact")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#playground-error").get_by_role("alert")).to_contain_text(refused.json()["error"]["message"])
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"#/playground$"))
    console.screenshot("customer-playground-phone")


def test_anyone_can_request_access_from_the_public_page(console: Console, embedded_stack: ServiceStack) -> None:
    # Applications are limited per client address, and the session's stack has other tests'
    # applications from 127.0.0.1 to count. This visitor comes from another loopback address: the
    # browser's request goes on, unchanged, from there, and the API's answer comes back as it is.
    address = f"127.{secrets.randbelow(250) + 3}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    forwarded: list[str] = []

    def from_another_address(route: Route) -> None:
        request = route.request
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(transport=transport, timeout=30) as client:
            answer = client.request(request.method, request.url, headers=headers, content=request.post_data_buffer)
        forwarded.append(request.headers.get("authorization", "no credential"))
        drop = ("content-length", "content-encoding", "transfer-encoding", "connection")
        route.fulfill(
            status=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() not in drop},
            body=answer.content,
        )

    page = console.page
    page.route("**/v1/access_requests", from_another_address)
    console.open("/request-access")
    expect(page.get_by_role("heading", name="Request access", level=1)).to_be_visible()
    page.get_by_label("Company", exact=True).fill("Northwind Films")
    page.get_by_label("Contact email", exact=True).fill("producer@northwind.example")
    page.get_by_label("Use case", exact=True).fill("Storyboards for short films, about 200 clips a month.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Request received", level=1)).to_be_focused()
    expect(page.get_by_role("main").get_by_role("status")).to_contain_text("producer@northwind.example")
    request_id = page.locator(".confirmation code").text_content()
    assert forwarded == ["no credential"]

    pending = httpx.get(
        f"{embedded_stack.base_url}/admin/access_requests",
        params={"status": "pending"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["data"]
    [mine] = [item for item in pending if item["id"] == request_id]
    assert (mine["company"], mine["contact_email"]) == ("Northwind Films", "producer@northwind.example")
