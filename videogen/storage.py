"""Where finished videos and thumbnails live: local disk (embedded) or any S3-compatible store.

Objects are addressed by keys like ``video_123/video.mp4``; the database stores the key, never a
URL, so a bucket can move or a presigned URL can expire without touching job records.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from videogen.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """An object ready to be served: its size and a way to stream it."""

    size: int
    chunks: Iterator[bytes]


class ObjectNotFoundError(FileNotFoundError):
    pass


class Storage(Protocol):
    def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> StoredObject: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str | None:
        """A URL that serves the object without our API in the path, or None if unsupported."""
        ...


class LocalStorage:
    """Files under a root directory. Good for one machine; not shared between hosts."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        shutil.copyfile(path, partial)
        partial.replace(target)  # atomic: readers never see half a file

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_bytes(data)
        partial.replace(target)

    def open(self, key: str) -> StoredObject:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFoundError(key)

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(CHUNK_SIZE):
                    yield chunk

        return StoredObject(size=path.stat().st_size, chunks=chunks())

    def delete_prefix(self, prefix: str) -> None:
        directory = self._path(prefix.rstrip("/"))
        shutil.rmtree(directory, ignore_errors=True)

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str | None:
        return None


class S3Storage:
    """An S3 bucket through boto3: AWS, MinIO, Cloudflare R2, moto's server, ..."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type})

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def open(self, key: str) -> StoredObject:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise ObjectNotFoundError(key) from exc
            raise
        return StoredObject(size=response["ContentLength"], chunks=response["Body"].iter_chunks(CHUNK_SIZE))

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            objects: list[ObjectIdentifierTypeDef] = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)


def read_bytes(storage: Storage, key: str) -> bytes:
    """A whole (small) object, such as an input image."""
    return b"".join(storage.open(key).chunks)


def storage_from_settings(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        storage = S3Storage(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
        if settings.s3_create_bucket:
            storage.ensure_bucket()
        return storage
    assert settings.storage_dir is not None
    return LocalStorage(settings.storage_dir)
