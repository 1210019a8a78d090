"""scripts/bench_events.py: its quick run (10 and 50 streams, 50 waits of 6 s, on a scratch
PostgreSQL database) reports what it says it does.

Its figures are timings of a shared machine and are only bounded loosely here; what is checked is
what must hold whatever the machine: every stream opened and counted by the API, the watcher's
statements per round independent of the streams, every wait answered 200 with Preference-Applied
after its N seconds, and those whose video completed meanwhile answered before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_events.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench_events") / "report.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(out.read_text()), completed.stdout


def test_every_stream_is_opened_and_the_watcher_costs_the_same_per_round(run: tuple[dict[str, Any], str]) -> None:
    report, stdout = run
    levels = report["streams"]["levels"]
    assert [row["streams"] for row in levels] == [10, 50]
    for row in levels:
        assert row["failed"] == 0, row["first_errors"]
        assert row["streams_open_at_end"] == row["streams"]  # as the API's gauge counts them
        assert row["watcher_rounds_per_second"] > 0
        # In-progress videos, under 500 watched: one read of the change columns a round, plus one of
        # the rows that changed; never a query per stream.
        assert row["watcher_queries_per_second"] <= 2 * row["watcher_rounds_per_second"] + 0.5
        assert row["rss_mb"] > 0
    assert "| open streams | API RSS MB | API CPU % | watcher queries/s |" in stdout
    latency = report["streams"]["latency_ms"]
    assert latency["samples"] == 3 and 0 < latency["p50"] <= latency["max"] < 10_000


def test_every_wait_is_answered_after_its_seconds_or_when_its_video_completed(run: tuple[dict[str, Any], str]) -> None:
    waits = run[0]["waits"]
    assert (waits["waits"], waits["statuses"], waits["preference_applied"]) == (50, {"200": 50}, 50)
    waited = waits["answered_after_waiting_s"]
    assert waited["count"] == 45 and waited["min"] >= waits["wait_seconds"]
    early = waits["completed_meanwhile_answered_ms"]
    assert early["count"] == 5 and early["max"] < 1000 * waits["wait_seconds"]
    assert waits["waits_open_at_end"] == 45  # the five that completed had answered
