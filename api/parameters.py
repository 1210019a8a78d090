"""Path, query and header parameters, checked like request bodies (``api.schemas.RequestBody``).

An id in a path or a cursor in a query reaches SQL as it was sent, and ``%00`` decodes to a NUL
that PostgreSQL refuses with a 500. Every router depends on ``storable_parameters``, so no route,
present or future, can forget the check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request

from videogen.text import check_storable
from videogen.videos.submission import MAX_IDEMPOTENCY_KEY_LENGTH


async def storable_parameters(request: Request) -> None:
    """400 naming the parameter if any path or query parameter holds what cannot be stored."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(value, str):
            check_storable(name, value)
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None:
        check_storable("Idempotency-Key", idempotency_key)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        description="Makes retries safe: the same key and body within 24 h return the original video; the same "
        "key with another body is a 409.",
    ),
]
