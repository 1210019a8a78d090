"""What text a client may send: only what every database can store and every encoder can write.

PostgreSQL refuses NUL in text columns, and UTF-8 cannot encode a lone surrogate (``"\\ud800"``,
which JSON can spell as an escape): such a string fails the row's INSERT, or the response that
echoes it, with a 500. No prompt, name or id needs either, so both are refused where a request's
values are checked, with a 400 that names the parameter.
"""

from __future__ import annotations

import re

from videogen.errors import InvalidRequestError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNENCODABLE = re.compile("[\ud800-\udfff]")


def unstorable_reason(text: str, *, allow_nul: bool = False) -> str | None:
    """Why ``text`` cannot be stored, or None if it can. ``allow_nul`` leaves NUL to a caller that
    refuses it with a more precise error of its own (the URL policy: no control characters)."""
    found = (_UNENCODABLE if allow_nul else _UNSTORABLE).search(text)
    if found is None:
        return None
    return "NUL characters" if found.group() == "\x00" else "unpaired surrogates (invalid Unicode)"


def check_storable(param: str, text: str) -> None:
    """400 naming ``param`` if ``text`` holds a character no database column can store."""
    reason = unstorable_reason(text)
    if reason is not None:
        raise InvalidRequestError(f"{param} must not contain {reason}", param=param)
