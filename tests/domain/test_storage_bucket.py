"""A deployment that owns its bucket (``S3_CREATE_BUCKET``) creates it again when a write finds it
missing (a development S3 restarted empty); one that does not fails the write as storage trouble.
On moto's S3 server, over HTTP."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from videogen.storage import S3Storage, StorageUnavailableError, read_bytes


def storage(s3_server: str, bucket: str, *, create_bucket: bool) -> S3Storage:
    return S3Storage(
        bucket,
        endpoint_url=s3_server,
        access_key_id="test",
        secret_access_key="test",
        max_attempts=1,
        create_bucket=create_bucket,
    )


def test_an_owned_bucket_found_missing_on_a_write_is_created_again(s3_server: str, tmp_path: Path) -> None:
    owned = storage(s3_server, f"vg-owned-{secrets.token_hex(4)}", create_bucket=True)
    video = tmp_path / "video.mp4"
    video.write_bytes(b"mp4")

    owned.put_file("v/video.mp4", video, "video/mp4")  # the bucket does not exist yet
    owned.client.delete_objects(Bucket=owned.bucket, Delete={"Objects": [{"Key": "v/video.mp4"}]})
    owned.client.delete_bucket(Bucket=owned.bucket)
    owned.put_bytes("v/thumbnail.jpg", b"jpeg", "image/jpeg")  # and gone again

    assert read_bytes(owned, "v/thumbnail.jpg") == b"jpeg"
    owned.delete_prefix("v/")
    owned.client.delete_bucket(Bucket=owned.bucket)


def test_a_bucket_the_deployment_does_not_own_is_never_created(s3_server: str) -> None:
    strict = storage(s3_server, f"vg-strict-{secrets.token_hex(4)}", create_bucket=False)
    with pytest.raises(StorageUnavailableError):
        strict.put_bytes("v/thumbnail.jpg", b"jpeg", "image/jpeg")
    assert strict.bucket not in {b["Name"] for b in strict.client.list_buckets()["Buckets"]}
