"""What a client is told when its job fails: a code, and a message that names nothing internal.

An exception carries whatever its library put in it: boto3's upload error names the local file,
the bucket and the object key, botocore's connection errors the endpoint URL, SQLAlchemy's the
database host, port and the SQL. Clients see ``error.message`` (and webhook receivers get it), so
the worker never shows ``str(exc)`` as is:

- storage failures (``StorageUnavailableError``, or anything boto3/botocore raised) are
  ``storage_unavailable`` with a generic message: the operator has the details in the log;
- database failures are ``internal_error``, generic likewise;
- the model layer's own errors (a size or shape the pipeline rejects) say something useful to the
  client, so they keep their type and first line, scrubbed of URLs, absolute paths, host:port
  pairs, IP addresses, key-like paths and the deployment's own names (bucket, endpoint, folders).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from videogen.outages import causes
from videogen.settings import Settings
from videogen.storage import StorageUnavailableError

STORAGE_MESSAGE = (
    "The video could not be stored or read because the storage service was unavailable. Please try again later."
)
INTERNAL_MESSAGE = "The service had an internal error while running this job. Please try again later."
OUT_OF_MEMORY_MESSAGE = "The GPU ran out of memory for this request; try a smaller size or a shorter clip."
MAX_MESSAGE_CHARS = 500

_STORAGE_MODULES = ("botocore", "boto3", "s3transfer")
_DATABASE_MODULES = ("sqlalchemy", "psycopg", "sqlite3")

# Order matters: URLs before paths and hosts (a URL holds both), bracketed IPv6 before IPv4.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+"), "<url>"),
    (re.compile(r"(?<![\w.~>])(?:[A-Za-z]:)?[\\/](?:[\w.@+~-]+[\\/])*[\w.@+~-]+[\\/]?"), "<path>"),
    (re.compile(r"\[[0-9A-Fa-f:.]+\](?::\d{1,5})?"), "<host>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"), "<host>"),
    (re.compile(r"\b[A-Za-z][\w-]*(?:\.[\w-]+)*:\d{2,5}\b"), "<host>"),
    (re.compile(r"\b[\w.-]+(?:/[\w.-]+){2,}/?"), "<path>"),
]


@dataclass(frozen=True)
class JobFailure:
    """The ``error`` of a failed job, as clients see it."""

    code: str
    message: str


class ModelLoadError(RuntimeError):
    """The worker could not load a model. The cause (with server paths) goes to the worker log;
    the client sees which model and what kind of failure."""

    def __init__(self, model: str, cause: Exception):
        super().__init__(
            f"The model '{model}' could not be loaded by the worker ({type(cause).__name__}). "
            "The operator can find the details in the worker log."
        )


def describe_failure(exc: BaseException, private: Iterable[str] = ()) -> JobFailure:
    """The code and message for a job that ``exc`` ended; ``private`` are words of this deployment
    that must not appear (see ``private_words``)."""
    if isinstance(exc, ModelLoadError):
        return JobFailure("model_unavailable", str(exc))
    if type(exc).__name__ == "OutOfMemoryError":
        return JobFailure("out_of_memory", OUT_OF_MEMORY_MESSAGE)
    chain = list(causes(exc))
    if any(isinstance(e, StorageUnavailableError) or _raised_by(e, _STORAGE_MODULES) for e in chain):
        return JobFailure(StorageUnavailableError.code, STORAGE_MESSAGE)
    if any(_raised_by(e, _DATABASE_MODULES) for e in chain):
        return JobFailure("internal_error", INTERNAL_MESSAGE)
    first_line = scrub((str(exc).strip().splitlines() or [""])[0], private)[:MAX_MESSAGE_CHARS]
    name = type(exc).__name__
    return JobFailure("generation_failed", f"{name}: {first_line}" if first_line else name)


def scrub(text: str, private: Iterable[str] = ()) -> str:
    """``text`` without URLs, absolute paths, host:port pairs, IP addresses, key-like paths
    (``a/b/c``) or any of the ``private`` words."""
    for word in sorted({w for w in private if len(w) >= 3}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", "<redacted>", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def private_words(settings: Settings) -> list[str]:
    """Names of this deployment that a message must not carry: the bucket, the storage endpoint's
    and the database's hosts, and the folders the worker reads and writes."""
    words = [settings.s3_bucket]
    for url in (settings.s3_endpoint_url, settings.database_url, settings.broker_url):
        if url:
            try:
                host = urlsplit(url).hostname
            except ValueError:
                host = None
            if host:
                words.append(host)
    for folder in (settings.data_dir, settings.storage_dir, settings.models_dir):
        if folder is not None:
            words.append(str(folder.resolve()))
    return [w for w in words if w]


def _raised_by(exc: BaseException, modules: tuple[str, ...]) -> bool:
    module = type(exc).__module__
    return any(module == m or module.startswith(f"{m}.") for m in modules)
