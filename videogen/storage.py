"""Where finished videos and thumbnails live: local disk (embedded) or any S3-compatible store.

Objects are addressed by keys like ``video_123/video.mp4``; the database stores the key, never a
URL, so a bucket can move or a presigned URL can expire without touching job records.

Every failure of the store itself (not "no such object") surfaces as ``StorageUnavailableError``:
callers get one type to retry on or to show (a 503 in the API, ``storage_unavailable`` on a job)
whose message names no endpoint, bucket, key or path; the backend's exception stays attached as
the cause, for the logs. Calls to S3 are bounded (connect and read timeouts, a few attempts), so a
hung store fails a call in seconds instead of holding a job or a download for minutes.

Downloads read what they serve and no more: ``stat`` answers a HEAD, a conditional request or the
size a ``Range`` needs without reading the object, and ``open`` reads one byte range (a ranged
``GetObject`` on S3, a seek on disk), so a video player seeking through a clip costs the store the
bytes it shows.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from videogen.errors import ServiceUnavailableError
from videogen.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

CHUNK_SIZE = 1024 * 1024
T = TypeVar("T")
PresignedMethod = Literal["GET", "HEAD"]

# S3 error codes that say "try again", whatever the HTTP status (5xx is always worth a retry).
_TRANSIENT_S3_CODES = frozenset({"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "InternalError"})


@dataclass(frozen=True)
class StoredObject:
    """An object, or the part of it asked for, ready to be served: its size and a way to stream it."""

    size: int
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows of an object without reading it.

    ``version`` is the store's own stamp of these bytes: S3's ETag (computed by S3 from the
    content, so the same for every replica that asks), or a local file's modification time in
    nanoseconds (kept across restarts). Objects are written once under keys that name their
    attempt (``videogen.videos.assets``), so a key, its size and this stamp identify its bytes.
    """

    size: int
    modified: datetime
    version: str


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` up to, not including, ``stop`` of an object."""

    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start


class ObjectNotFoundError(FileNotFoundError):
    pass


class StorageUnavailableError(ServiceUnavailableError):
    """The store could not be reached or refused the call. ``transient``: worth retrying (a timeout,
    a refused connection, a 5xx, throttling) rather than a configuration error (credentials,
    a missing bucket) that no retry will fix.

    The message is meant for clients and names nothing internal; the cause has the details.
    """

    code = "storage_unavailable"

    def __init__(self, transient: bool):
        super().__init__("The video storage is unavailable at the moment; try again later.")
        self.transient = transient


class Storage(Protocol):
    def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str, byte_range: ByteRange | None = None) -> StoredObject:
        """The object's bytes (only ``byte_range`` of them, if given) as a stream."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """The object's size, modification time and version, without reading it."""
        ...

    def delete_prefix(self, prefix: str) -> None: ...

    def presigned_url(
        self, key: str, expires_in: int, filename: str | None = None, method: PresignedMethod = "GET"
    ) -> str | None:
        """A URL that serves the object without our API in the path, or None if unsupported.
        ``method``: what the URL is signed for (S3 signs the method too: a HEAD on a URL signed
        for GET is refused)."""
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
        with _local_errors():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".partial")
            shutil.copyfile(path, partial)
            partial.replace(target)  # atomic: readers never see half a file

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self._path(key)
        with _local_errors():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(data)
            partial.replace(target)

    def open(self, key: str, byte_range: ByteRange | None = None) -> StoredObject:
        path = self._path(key)
        size = self.stat(key).size
        start, stop = (byte_range.start, min(byte_range.stop, size)) if byte_range else (0, size)

        def chunks() -> Iterator[bytes]:
            with _local_errors(), path.open("rb") as f:
                f.seek(start)
                remaining = stop - start
                while remaining > 0 and (chunk := f.read(min(CHUNK_SIZE, remaining))):
                    remaining -= len(chunk)
                    yield chunk

        return StoredObject(size=max(stop - start, 0), chunks=chunks())

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(key) from exc
        except OSError as exc:
            raise StorageUnavailableError(transient=True) from exc
        if not path.is_file():
            raise ObjectNotFoundError(key)
        return ObjectInfo(
            size=stat.st_size, modified=datetime.fromtimestamp(stat.st_mtime, UTC), version=str(stat.st_mtime_ns)
        )

    def delete_prefix(self, prefix: str) -> None:
        directory = self._path(prefix.rstrip("/"))
        shutil.rmtree(directory, ignore_errors=True)

    def presigned_url(
        self, key: str, expires_in: int, filename: str | None = None, method: PresignedMethod = "GET"
    ) -> str | None:
        return None


@contextmanager
def _local_errors() -> Iterator[None]:
    """A disk that is full, read-only or gone (an NFS mount) is a store that is unavailable."""
    try:
        yield
    except OSError as exc:
        raise StorageUnavailableError(transient=True) from exc


class S3Storage:
    """An S3 bucket through boto3: AWS, MinIO, Cloudflare R2, moto's server, ...

    Every call is bounded: ``connect_timeout`` to open a connection, ``read_timeout`` for each
    read of the answer (so a download stream that stalls fails too), ``max_attempts`` tries in all
    (botocore's standard retry mode, with its own jittered backoff; note botocore's own
    ``max_attempts`` key counts retries, ``total_max_attempts`` tries). A store that accepts
    connections but never answers costs each try ``read_timeout`` plus the one second botocore
    waits for ``100 Continue`` on uploads. botocore's defaults (60 s, 60 s, more tries) held a job
    four minutes on a hung S3; the worker retries whole uploads on top of this (``worker.runner``),
    so each call only has to fail fast.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
        create_bucket: bool = False,
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        # The deployment owns its bucket (``S3_CREATE_BUCKET``): one found missing on a write (a
        # development S3 restarted empty, say) is created again rather than failing the job.
        self.create_bucket = create_bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"total_max_attempts": max_attempts, "mode": "standard"},
            ),
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        def ensure() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self.client.create_bucket(Bucket=self.bucket)

        _s3_call(ensure)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self._write(
            lambda: self.client.upload_file(
                str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
            )
        )

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._write(
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        )

    def _write(self, call: Callable[[], object]) -> None:
        try:
            _s3_call(call)
        except StorageUnavailableError as exc:
            if not (self.create_bucket and _is_missing_bucket(exc.__cause__)):
                raise
            self.ensure_bucket()
            _s3_call(call)

    def open(self, key: str, byte_range: ByteRange | None = None) -> StoredObject:
        def get() -> StoredObject:
            with _missing_object(key):
                if byte_range is None:
                    response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
                else:  # S3 clips a range past the end, as HTTP does
                    response = self.client.get_object(
                        Bucket=self.bucket, Key=self._key(key), Range=f"bytes={byte_range.start}-{byte_range.stop - 1}"
                    )
            return StoredObject(
                size=response["ContentLength"], chunks=_s3_chunks(response["Body"].iter_chunks(CHUNK_SIZE))
            )

        return _s3_call(get)

    def stat(self, key: str) -> ObjectInfo:
        def head() -> ObjectInfo:
            with _missing_object(key):
                response = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return ObjectInfo(
                size=response["ContentLength"],
                modified=response["LastModified"].astimezone(UTC),
                version=response["ETag"].strip('"'),
            )

        return _s3_call(head)

    def delete_prefix(self, prefix: str) -> None:
        def delete() -> None:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                objects: list[ObjectIdentifierTypeDef] = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if objects:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})

        _s3_call(delete)

    def presigned_url(
        self, key: str, expires_in: int, filename: str | None = None, method: PresignedMethod = "GET"
    ) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        operation = "head_object" if method == "HEAD" else "get_object"
        return _s3_call(lambda: self.client.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in))


@contextmanager
def _missing_object(key: str) -> Iterator[None]:
    """S3's "no such key" (a GET's ``NoSuchKey``, a HEAD's bare 404) as ``ObjectNotFoundError``."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            raise ObjectNotFoundError(key) from exc
        raise


def _is_missing_bucket(exc: BaseException | None) -> bool:
    """S3's NoSuchBucket, raised by the client itself or wrapped by boto3's transfer manager."""
    text = str(exc) if exc is not None else ""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if exc is not None else None
    return code == "NoSuchBucket" or "(NoSuchBucket)" in text


def _s3_call(call: Callable[[], T]) -> T:
    """``call()``, with every failure of S3 itself as a ``StorageUnavailableError``."""
    try:
        return call()
    except ObjectNotFoundError:
        raise
    except Exception as exc:
        if _is_s3_error(exc):
            raise StorageUnavailableError(transient=is_transient_s3_error(exc)) from exc
        raise


def _s3_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A download stream whose failures (a read timeout mid-object) are typed like the others."""
    try:
        yield from chunks
    except Exception as exc:
        if _is_s3_error(exc):
            raise StorageUnavailableError(transient=True) from exc
        raise


def _is_s3_error(exc: BaseException) -> bool:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError, Boto3Error))


def is_transient_s3_error(exc: BaseException) -> bool:
    """Worth another try: no answer, a broken connection, a 5xx or throttling. Not: bad credentials,
    a missing bucket, a refused request, which fail the same way every time."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, S3UploadFailedError) and exc.__context__ is not None:
        exc = exc.__context__  # upload_file re-raises the client's error as this, chained
    if isinstance(exc, (HTTPClientError, BotoConnectionError, IncompleteReadError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return status >= 500 or status in {408, 429} or error.get("Code", "") in _TRANSIENT_S3_CODES
    return False


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
            connect_timeout=settings.s3_connect_timeout_seconds,
            read_timeout=settings.s3_read_timeout_seconds,
            max_attempts=settings.s3_max_attempts,
            create_bucket=settings.s3_create_bucket,
        )
        if settings.s3_create_bucket:
            storage.ensure_bucket()
        return storage
    assert settings.storage_dir is not None
    return LocalStorage(settings.storage_dir)
