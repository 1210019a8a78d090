"""API keys: random, shown once, stored as a SHA-256 digest.

Keys carry 256 bits of entropy, so a fast hash is enough (no salt or KDF needed: there is nothing
to brute-force), and it lets us look a key up by its digest with an index.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "vg_live_"
# How much of a key we keep in clear, so people can tell their keys apart in listings.
DISPLAY_PREFIX_LEN = len(KEY_PREFIX) + 6


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LEN]
