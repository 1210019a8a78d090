"""Tiers decide what an organization's keys may do; every limit is enforced at submission."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import LONG_JOB, QUICK, assert_error, cancel_all, finished, keyed_client, status_of, wait_for
from tests.stack import ServiceStack


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "tiny-broken"}, "model", "model_not_allowed"),
        ({"seconds": "3"}, "seconds", "tier_limit"),
        ({"size": "256x256"}, "size", "tier_limit"),
        ({"num_inference_steps": 5}, "num_inference_steps", "tier_limit"),
    ],
)
def test_tier_refuses_what_it_does_not_include(
    production_stack: ServiceStack, body: dict, param: str, code: str
) -> None:  # type: ignore[type-arg]
    with keyed_client(production_stack, "restricted") as http:
        error = assert_error(http.post("/videos", json={"prompt": "x", **body}), 403, "permission_error", code)
        assert error["param"] == param
        allowed = http.post(
            "/videos", json={"prompt": "x", "seconds": "2", "size": "128x128", "num_inference_steps": 4}
        )
        assert allowed.status_code == 200, allowed.text


def test_request_rate_limit_is_shared_by_api_replicas(
    production_stack: ServiceStack, redirecting_api: ServiceStack
) -> None:
    """rate-limited allows 3 creates a minute: 2 through one replica and 1 through the other use it up."""
    with keyed_client(production_stack, "rate-limited") as first:
        second = httpx.Client(base_url=redirecting_api.base_url, headers=dict(first.headers), timeout=60)
        ids = []
        for client in (first, second, first):
            response = client.post("/videos", json=QUICK)
            assert response.status_code == 200, response.text
            ids.append(response.json()["id"])
        assert response.headers["x-ratelimit-limit-requests"] == "3"
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
        assert response.headers["x-ratelimit-reset-requests"].endswith("s")

        refused = second.post("/videos", json=QUICK)
        assert_error(refused, 429, "rate_limit_error", "rate_limit_exceeded")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        for video_id in ids:
            wait_for(first, video_id, finished)
        second.close()


def test_fifty_simultaneous_submissions_against_a_limit_of_five_admit_exactly_five(stack: ServiceStack) -> None:
    with keyed_client(stack, "five-at-once") as http:
        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(
                pool.map(lambda i: http.post("/videos", json={"prompt": f"burst {i}", **LONG_JOB}), range(50))
            )
        admitted = [r.json()["id"] for r in responses if r.status_code == 200]
        try:
            refused = [r for r in responses if r.status_code != 200]
            assert len(admitted) == 5
            assert len(refused) == 45
            for response in refused:
                assert_error(response, 429, "rate_limit_error", "concurrency_limit_exceeded")
                assert int(response.headers["Retry-After"]) >= 1
        finally:
            cancel_all(http, admitted)
        # With the jobs gone, the organization may submit again.
        again = http.post("/videos", json=QUICK)
        assert again.status_code == 200, again.text
        wait_for(http, again.json()["id"], finished)


def test_daily_quota_is_exact_under_concurrency_and_resets_at_midnight(stack: ServiceStack) -> None:
    """five-seconds-a-day: twenty simultaneous 1-second requests admit exactly five."""
    with keyed_client(stack, "five-seconds-a-day") as http:
        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(lambda i: http.post("/videos", json={**QUICK, "prompt": f"q{i}"}), range(20)))
        admitted = [r.json()["id"] for r in responses if r.status_code == 200]
        assert len(admitted) == 5
        refused = [r for r in responses if r.status_code != 200]
        for response in refused:
            error = assert_error(response, 429, "insufficient_quota", "quota_exceeded")
            assert "resets at" in error["message"]
            assert 1 <= int(response.headers["Retry-After"]) <= 86_400
        for video_id in admitted:
            wait_for(http, video_id, finished)
        usage = http.get("/usage").json()
        assert usage["today"] == {"video_seconds": 5.0, "video_seconds_limit": 5.0, "video_seconds_remaining": 0.0}


def test_failed_and_cancelled_jobs_do_not_use_quota(production_stack: ServiceStack) -> None:
    with keyed_client(production_stack, "five-seconds-a-day") as http:
        first = http.post("/videos", json={**LONG_JOB, "prompt": "cancel me", "seconds": "4"}).json()
        assert http.post(f"/videos/{first['id']}/cancel").status_code == 200
        second = http.post("/videos", json={**QUICK, "seconds": "4"})
        assert second.status_code == 200, second.text  # the cancelled 4 s were given back
        wait_for(http, second.json()["id"], finished)


def test_priority_enterprise_runs_before_earlier_internal_testing_job(production_stack: ServiceStack) -> None:
    with (
        keyed_client(production_stack, "enterprise") as blocker_owner,
        keyed_client(production_stack, "internal-testing") as tester,
        keyed_client(production_stack, "enterprise") as enterprise,
    ):
        blocker = blocker_owner.post("/videos", json={**LONG_JOB, "prompt": "keeps the worker busy"}).json()
        wait_for(blocker_owner, blocker["id"], lambda v: v["status"] == "in_progress")

        early = tester.post("/videos", json={**QUICK, "prompt": "submitted first"}).json()
        late = enterprise.post("/videos", json={**LONG_JOB, "prompt": "submitted second, higher tier"}).json()
        assert status_of(enterprise, late["id"])["queue_position"] == 1
        assert status_of(tester, early["id"])["queue_position"] == 2

        blocker_owner.post(f"/videos/{blocker['id']}/cancel")
        running = wait_for(enterprise, late["id"], lambda v: v["status"] != "queued")
        assert running["status"] == "in_progress"
        assert status_of(tester, early["id"])["status"] == "queued"  # still waiting behind the enterprise job

        enterprise.post(f"/videos/{late['id']}/cancel")
        assert wait_for(tester, early["id"], finished)["status"] == "completed"
