"""scripts/bench_service.py: its quick run on the embedded configuration reports what it says it does.

The benchmark's figures are timings of a shared machine and are not checked here; what is checked is
that the report holds them the way its readers take them: a row per clip and configuration, the
medians of its samples, and each run split into stages that add up. The comparison with the
pipeline alone is a measurement (two runs of the same request on a noisy machine), so the invariant
checked is the one that always holds: a job takes at least as long, end to end, as its own pipeline.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_service.py"

# The stages of a run, as the report names them: the overhead's and the worker's pipeline.
RUN_STAGES = {"submit", "pickup", "pipeline", "encoding", "uploading", "worker_rest", "completion"}
OVERHEAD_STAGES = ["submit", "pickup", "pipeline_vs_alone", "encoding", "uploading", "worker_rest", "completion"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench_service") / "report.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--configs", "embedded", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report, completed.stdout


@pytest.fixture(scope="module")
def report(run: tuple[dict[str, Any], str]) -> dict[str, Any]:
    return run[0]


def test_the_quick_run_has_a_row_per_clip_in_the_embedded_configuration(report: dict[str, Any]) -> None:
    assert report["overhead_stages"] == OVERHEAD_STAGES
    assert report["options"]["quick"] is True
    assert [row["config"] for row in report["rows"]] == ["embedded"] * len(report["clips"])
    assert [row["clip"] for row in report["rows"]] == [clip["name"] for clip in report["clips"]]
    for row in report["rows"]:
        assert row["samples"] == 2
        assert set(row["stages_ms"]) == set(OVERHEAD_STAGES)


def test_the_table_is_printed(run: tuple[dict[str, Any], str]) -> None:
    report, stdout = run
    assert "| clip | config | pipeline s | end to end s | overhead ms |" in stdout
    for row in report["rows"]:
        assert f"| {row['clip']} | embedded |" in stdout


def test_each_run_splits_into_stages_that_sum_to_its_time(report: dict[str, Any]) -> None:
    tolerance = report["sum_tolerance_seconds"]
    assert 0 < tolerance <= 0.01
    for sample in report["samples"]:
        stages = sample["stages"]
        assert set(stages) == RUN_STAGES
        assert sum(stages.values()) == pytest.approx(sample["end_to_end_s"], abs=tolerance)
        assert sum(sample["overhead_stages"].values()) == pytest.approx(sample["overhead_s"], abs=tolerance)
        assert sample["overhead_s"] == pytest.approx(sample["end_to_end_s"] - sample["pipeline_s"], abs=1e-9)
        assert sample["service_s"] == pytest.approx(sample["end_to_end_s"] - stages["pipeline"], abs=1e-9)
        # Every stage is a span of the job's own timeline, so none is negative...
        assert all(seconds >= -tolerance for seconds in stages.values()), stages
        # ...and a job takes at least its own pipeline's time end to end, the client's view no less
        # than the server's.
        assert sample["end_to_end_s"] >= stages["pipeline"] > 0
        assert sample["end_to_end_s"] >= sample["server_end_to_end_s"]
        assert sample["pipeline_s"] > 0


def test_the_worker_stages_are_the_jobs_own_timings(report: dict[str, Any]) -> None:
    for sample in report["samples"]:
        stages, timings = sample["stages"], sample["timings"]
        assert stages["pipeline"] == timings["gpu_seconds"]
        assert stages["encoding"] == timings["encoding_seconds"]
        assert stages["uploading"] == timings["uploading_seconds"]
        assert stages["pickup"] == pytest.approx(timings["queue_seconds"], abs=1e-3)
        assert timings["loading_seconds"] is None  # a warm worker
        assert timings["run_seconds"] >= stages["pipeline"] + stages["encoding"] + stages["uploading"] - 1e-3


def test_the_rows_are_the_medians_of_the_samples(report: dict[str, Any]) -> None:
    for row in report["rows"]:
        samples = [s for s in report["samples"] if s["clip"] == row["clip"] and s["config"] == row["config"]]
        assert len(samples) == row["samples"]
        overhead = statistics.median(s["overhead_s"] for s in samples)
        pipeline = statistics.median(s["pipeline_s"] for s in samples)
        assert row["overhead_ms"] == pytest.approx(overhead * 1000, abs=0.1)
        assert row["pipeline_s"] == pytest.approx(pipeline, abs=1e-4)
        assert row["overhead_pct"] == pytest.approx(100 * overhead / pipeline, abs=0.01)
        for name in OVERHEAD_STAGES:
            median = statistics.median(s["overhead_stages"][name] for s in samples)
            assert row["stages_ms"][name] == pytest.approx(median * 1000, abs=0.1)
