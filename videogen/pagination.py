"""Cursor pagination over time-ordered ids (OpenAI's ``after`` / ``limit`` / ``has_more``).

Ids sort by creation (``videogen.ids``), so a page is an index range scan: everything past the
cursor in the chosen order, one row more than asked for to learn whether another page exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from videogen.text import check_storable

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def paginate(
    session: Session,
    query: Select[T],
    id_column: InstrumentedAttribute[Any],
    *,
    after: str | None,
    limit: int,
    order: Literal["asc", "desc"] = "desc",
) -> Page[T]:
    if after is not None:
        check_storable("after", after)  # a cursor is compared in SQL as sent: no NUL (PostgreSQL refuses it)
        query = query.where(id_column > after if order == "asc" else id_column < after)
    query = query.order_by(id_column.asc() if order == "asc" else id_column.desc()).limit(limit + 1)
    rows = list(session.scalars(query).unique())
    return Page(rows[:limit], len(rows) > limit)
