"""Encryption at rest for secrets the service must be able to use again (webhook signing keys).

A database dump alone cannot sign a webhook: the keys are Fernet-encrypted with a key that lives
outside the database (``VIDEOGEN_SECRET_KEY``, or a file in the data directory for the embedded
configuration). Several keys, comma-separated and newest first, allow key rotation.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from videogen.settings import Settings


class SecretBox:
    def __init__(self, keys: list[str]):
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys if k.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()


def _key_file_keys(data_dir: Path) -> list[str]:
    path = data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(Fernet.generate_key().decode())
    return [path.read_text().strip()]


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(list(keys))


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        keys = settings.secret_key.get_secret_value().split(",")
    else:
        try:
            keys = _key_file_keys(settings.data_dir)
        except FileExistsError:  # another process created it between our check and open
            keys = [(settings.data_dir / "secret.key").read_text().strip()]
    return _box(tuple(keys))
