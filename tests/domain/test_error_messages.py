"""What a client reads in a failed job's ``error`` (``worker.failures``): a code that says what
kind of failure it was, and a message that never carries the deployment's endpoints, buckets,
keys, paths or hosts, whatever the exception that ended the job said."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import EndpointConnectionError

from videogen.settings import Settings
from videogen.storage import S3Storage, StorageUnavailableError
from worker.failures import (
    INTERNAL_MESSAGE,
    STORAGE_MESSAGE,
    JobFailure,
    ModelLoadError,
    describe_failure,
    private_words,
    scrub,
)

INTERNALS = ("127.0.0.1", "minio", "9000", "5432", "videogen-prod-assets", "attempt-1", "/tmp", "video.mp4")


def closed_port() -> int:
    """A port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_names_nothing_internal(message: str) -> None:
    leaked = [word for word in INTERNALS if word in message]
    assert not leaked, f"{message!r} names {leaked}"


# --- storage -------------------------------------------------------------------------------------


def test_an_upload_that_boto3_failed_is_storage_unavailable_without_its_file_bucket_or_key() -> None:
    exc = S3UploadFailedError(
        "Failed to upload /tmp/videogen-abc/video.mp4 to videogen-prod-assets/videos/video_1/attempt-1/video.mp4: "
        "An error occurred (InternalError) when calling the PutObject operation (reached max retries: 2)"
    )

    failure = describe_failure(exc)

    assert failure == JobFailure("storage_unavailable", STORAGE_MESSAGE)
    assert_names_nothing_internal(failure.message)


def test_an_unreachable_endpoint_is_storage_unavailable_without_its_url() -> None:
    exc = EndpointConnectionError(endpoint_url="http://minio:9000/videogen-prod-assets/videos/video_1/attempt-1")
    assert describe_failure(exc) == JobFailure("storage_unavailable", STORAGE_MESSAGE)


def test_a_real_storage_call_that_fails_is_storage_unavailable() -> None:
    storage = S3Storage(
        "videogen-prod-assets",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        access_key_id="test",
        secret_access_key="test",
        connect_timeout=1,
        max_attempts=1,
    )
    with pytest.raises(StorageUnavailableError) as raised:
        storage.put_bytes("video_1/attempt-1/thumbnail.jpg", b"jpeg", "image/jpeg")

    assert raised.value.transient  # a refused connection is worth another try
    assert_names_nothing_internal(str(raised.value))
    assert describe_failure(raised.value) == JobFailure("storage_unavailable", STORAGE_MESSAGE)


def test_an_error_raised_while_handling_a_storage_failure_is_still_a_storage_failure() -> None:
    try:
        try:
            raise EndpointConnectionError(endpoint_url="http://minio:9000/")
        except EndpointConnectionError as cause:
            raise RuntimeError("could not read the input image from http://minio:9000/x") from cause
    except RuntimeError as exc:
        assert describe_failure(exc).code == "storage_unavailable"


# --- the database --------------------------------------------------------------------------------


def test_a_database_error_is_an_internal_error_with_a_generic_message() -> None:
    engine = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/videogen", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(sa.exc.OperationalError) as raised:
        engine.connect()
    engine.dispose()
    assert "127.0.0.1" in str(raised.value)  # what the driver says names the server...

    failure = describe_failure(raised.value)

    assert failure == JobFailure("internal_error", INTERNAL_MESSAGE)  # ...what the client reads does not


# --- the model and the pipeline ------------------------------------------------------------------


def test_a_pipeline_refusing_a_size_keeps_its_explanation() -> None:
    exc = ValueError("`height` and `width` have to be divisible by 16 but are 136 and 136.")
    assert describe_failure(exc) == JobFailure(
        "generation_failed", "ValueError: `height` and `width` have to be divisible by 16 but are 136 and 136."
    )


def test_a_model_that_would_not_load_says_which_and_nothing_else() -> None:
    failure = describe_failure(ModelLoadError("tiny-broken", OSError("/models/tiny-broken/vae: no such file")))
    assert failure.code == "model_unavailable"
    assert "'tiny-broken' could not be loaded" in failure.message and "/" not in failure.message


def test_running_out_of_gpu_memory_says_what_to_try() -> None:
    class OutOfMemoryError(RuntimeError):  # torch.cuda.OutOfMemoryError, by name: torch may be absent
        pass

    failure = describe_failure(OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB on /dev/nvidia0"))
    assert failure.code == "out_of_memory" and "smaller size" in failure.message


def test_only_the_first_line_is_kept_and_it_is_bounded() -> None:
    exc = ValueError("x" * 2000 + "\nTraceback (most recent call last):\n  File /srv/app/model.py")
    failure = describe_failure(exc)
    assert failure.message == "ValueError: " + "x" * 500


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert describe_failure(KeyError()) == JobFailure("generation_failed", "KeyError")


# --- scrubbing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("could not fetch https://minio.internal:9000/bucket/key?X-Amz=1 now", "could not fetch <url> now"),
        ("Error opening '/models/hunyuanvideo/vae/config.json'", "Error opening '<path>'"),
        ("no such file: C:\\models\\vae.bin", "no such file: <path>"),
        ("connection to db.internal:5432 refused", "connection to <host> refused"),
        ("connection to minio:9000 refused", "connection to <host> refused"),
        ("server at 10.0.3.7 did not answer", "server at <host> did not answer"),
        ("server at [fd00::7]:5432 did not answer", "server at <host> did not answer"),
        ("key videos/video_1/attempt-1/video.mp4 missing", "key <path> missing"),
        ("`height` and `width` have to be divisible by 16 but are 136 and 136.", None),
        ("a 16:9 frame, 1/2 of the steps, and/or fewer frames", None),
    ],
)
def test_scrubbing_removes_locations_and_keeps_everything_else(said: str, shown: str | None) -> None:
    assert scrub(said) == (said if shown is None else shown)


def test_the_deployments_own_names_are_scrubbed_as_whole_words(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        s3_bucket="videogen-prod-assets",
        s3_endpoint_url="https://objects.example.net",
        database_url="postgresql+psycopg://videogen:secret@db-primary.example.net/videogen",
    )
    words = private_words(settings)

    said = "bucket videogen-prod-assets on objects.example.net (db-primary.example.net) videogen-prod-assets-2"
    assert scrub(said, words) == "bucket <redacted> on <redacted> (<redacted>) videogen-prod-assets-2"
    assert describe_failure(ValueError(f"no room in {tmp_path}/scratch"), words).message == (
        "ValueError: no room in <redacted>/scratch"
    )
