"""How a worker turns a run's phases into live progress, an ETA and the job's timings, on a clock
the test moves (``worker.job_clock``, ``worker.estimates``): in-process, no time passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from model.stages import Stage, StageTimings
from videogen.videos.phases import Phase
from worker.estimates import STEP_EXPONENT, Expectation, JobShape, StageEstimates
from worker.job_clock import JobClock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# A run the worker has seen before: 0.5 s of prompt, 2 s a step, 4 s of decode, 1 s each to encode and upload.
SEEN = Expectation(
    seconds_per_step=2.0,
    phase_seconds={Phase.ENCODING_PROMPT: 0.5, Phase.DECODING: 4.0, Phase.ENCODING: 1.0, Phase.UPLOADING: 1.0},
    loading_seconds=30.0,
)


class FakeTime:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return NOW + timedelta(seconds=self.seconds)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def clock_for(time: FakeTime, expected: Expectation = SEEN, steps: int = 10, loading: bool = False) -> JobClock:
    return JobClock(steps, expected, loading=loading, clock=time, wall=time.wall)


def run_steps(clock: JobClock, time: FakeTime, steps: range, seconds_each: float) -> None:
    for done in steps:
        time.seconds += seconds_each
        clock.step(done)


def test_before_a_step_the_eta_is_the_expected_run(time: FakeTime) -> None:
    clock = clock_for(time)
    clock.enter(Phase.ENCODING_PROMPT)
    live = clock.live()
    # 0.5 prompt + 10 steps x 2 s + 4 decode + 1 encode + 1 upload
    assert live.estimated_completion_at == NOW + timedelta(seconds=26.5)
    assert (live.phase, live.progress, live.denoising_step) == (Phase.ENCODING_PROMPT, 0, None)


def test_after_a_step_the_jobs_own_step_rate_replaces_the_expected_one(time: FakeTime) -> None:
    clock = clock_for(time)
    clock.enter(Phase.ENCODING_PROMPT)
    time.seconds = 0.5
    clock.enter(Phase.DENOISING)
    run_steps(clock, time, range(1, 5), 3.0)  # slower than expected: 3 s a step
    live = clock.live()
    assert live.denoising_step == 4
    # 6 steps left at 3 s, then 4 + 1 + 1 expected
    assert live.estimated_completion_at == NOW + timedelta(seconds=time.seconds + 18 + 6)
    assert live.progress == round(100 * 12.5 / (12.5 + 24))


def test_progress_moves_through_the_decode_and_never_goes_back(time: FakeTime) -> None:
    clock = clock_for(time)
    clock.enter(Phase.DENOISING)
    run_steps(clock, time, range(1, 11), 2.0)
    clock.enter(Phase.DECODING)
    during_decode = []
    for _ in range(4):
        during_decode.append(clock.live().progress)
        time.seconds += 1.0
    assert during_decode == sorted(during_decode) and during_decode[0] < during_decode[-1]
    time.seconds += 30  # the decode overruns its estimate: progress holds, it does not reach 100
    late = clock.live()
    assert during_decode[-1] <= late.progress <= 99
    assert late.estimated_completion_at == NOW + timedelta(seconds=time.seconds + 2)  # encode + upload still ahead


def test_with_nothing_measured_progress_counts_steps_and_the_eta_waits_for_the_first(time: FakeTime) -> None:
    clock = clock_for(time, expected=Expectation(seconds_per_step=None))
    clock.enter(Phase.DENOISING)
    assert clock.live().estimated_completion_at is None
    run_steps(clock, time, range(1, 6), 1.0)
    live = clock.live()
    assert live.estimated_completion_at == NOW + timedelta(
        seconds=time.seconds + 5
    )  # 5 steps at 1 s, nothing else known
    assert live.progress == 50  # 5 s done, 5 s left


def test_a_model_load_counts_only_when_the_job_waited_for_one(time: FakeTime) -> None:
    cold = clock_for(time, loading=True)
    assert cold.live().estimated_completion_at == NOW + timedelta(seconds=30 + 26.5)
    time.seconds = 30
    cold.enter(Phase.ENCODING_PROMPT)
    assert cold.timings(queue_seconds=1.0)["loading_seconds"] == 30

    warm = clock_for(time, loading=False)
    warm.enter(Phase.ENCODING_PROMPT)
    assert warm.timings(queue_seconds=1.0)["loading_seconds"] is None


def test_timings_take_the_models_own_stage_times_and_bill_only_the_model_work(time: FakeTime) -> None:
    clock = clock_for(time, steps=4)
    clock.enter(Phase.ENCODING_PROMPT)
    time.seconds = 1.0
    clock.enter(Phase.DENOISING)
    run_steps(clock, time, range(1, 5), 1.0)
    clock.enter(Phase.DECODING)
    time.seconds += 2.0
    clock.enter(Phase.ENCODING)
    time.seconds += 0.5
    clock.enter(Phase.UPLOADING)
    time.seconds += 0.25
    # The model measured its stages with the device synchronised: those numbers win.
    model = StageTimings({Stage.ENCODING_PROMPT: 0.9, Stage.DENOISING: 4.2, Stage.DECODING: 1.8}, steps=4)
    timings = clock.timings(queue_seconds=3.0, model_stages=model)
    assert timings == {
        "queue_seconds": 3.0,
        "loading_seconds": None,
        "encoding_prompt_seconds": 0.9,
        "denoising_seconds": 4.2,
        "decoding_seconds": 1.8,
        "encoding_seconds": 0.5,
        "uploading_seconds": 0.25,
        "seconds_per_step": 1.05,
        "run_seconds": 7.75,
        "gpu_seconds": 6.9,
    }


def test_estimates_scale_a_measured_run_to_another_clip() -> None:
    estimates = StageEstimates()
    small = JobShape(128, 128, 9)
    estimates.record_load("m", 12.0)
    estimates.record("m", small, 0.1, {Phase.ENCODING_PROMPT: 0.2, Phase.DECODING: 1.0, Phase.UPLOADING: 0.5})

    assert estimates.expect("m", small) == Expectation(
        0.1, {Phase.ENCODING_PROMPT: 0.2, Phase.DECODING: 1.0, Phase.UPLOADING: 0.5}, loading_seconds=12.0
    )
    big = JobShape(256, 256, 17)  # 4x the pixels, 17/9 the frames, 4 x 5/3 the tokens
    expected = estimates.expect("m", big)
    assert expected.seconds_per_step == pytest.approx(0.1 * (4 * 5 / 3) ** STEP_EXPONENT)
    assert expected.of(Phase.DECODING) == pytest.approx(1.0 * 4 * 17 / 9)
    assert expected.of(Phase.ENCODING_PROMPT) == 0.2  # a prompt is padded to one length whatever the clip
    assert estimates.expect("other", big) == Expectation(seconds_per_step=None)


def test_estimates_scale_from_the_nearest_clip_measured() -> None:
    estimates = StageEstimates()
    estimates.record("m", JobShape(128, 128, 5), 0.05, {})
    estimates.record("m", JobShape(256, 256, 33), 1.0, {})
    assert estimates.expect("m", JobShape(256, 256, 33)).seconds_per_step == 1.0
    assert estimates.expect("m", JobShape(256, 256, 29)).seconds_per_step == pytest.approx((8 / 9) ** STEP_EXPONENT)
