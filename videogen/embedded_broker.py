"""The embedded configuration's broker: kombu's filesystem transport, with atomic writes.

kombu writes a message by creating its file in the queue folder and then filling it, while a
consumer takes any file it finds there without waiting for the writer's lock. Under load (several
producers, as soon as webhook retries are sent while jobs end) a consumer can take a file that is
still empty, fail to decode it and, inside Celery's consumer loop, die. Here each message is written
to a side folder and renamed into the queue folder once complete: a rename within one filesystem is
atomic, so consumers only ever see whole messages.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

INCOMING = ".incoming"


class AtomicFilesystemChannel(filesystem.Channel):
    # kombu's filesystem.Channel (which this replaces) already renames the base class's `message`
    # parameter to `payload`: the override mismatch is kombu's own, and callers pass it positionally.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staging = os.path.join(self.data_folder_out, INCOMING)
        os.makedirs(staging, exist_ok=True)
        partial = os.path.join(staging, name)
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out!r}") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel


TRANSPORT = f"{__name__}:AtomicFilesystemTransport"
