"""Public identifiers: a type prefix, then a time-ordered random part.

``video_`` + 12 hex digits of milliseconds since the epoch + 20 random hex digits. Ordering ids
orders objects by creation, which makes cursor pagination (``after=``) a plain index range scan.
"""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    millis = int(time.time() * 1000)
    return f"{prefix}_{millis:012x}{secrets.token_hex(10)}"
