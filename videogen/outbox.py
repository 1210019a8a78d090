"""The relay of the transactional outbox: after a transaction that queued webhook deliveries
commits, tell the broker about them.

Deliveries are rows written in the same transaction as the job change that caused them. Only once
that transaction has committed may a sender hear of them (before, it could find nothing, or send an
event for a change that was then rolled back). A SQLAlchemy ``after_commit`` hook does exactly that
for every session of the process. The nudge is an optimisation, not the guarantee: if the process
dies right after the commit, or the broker is down, the reconciler's sweep finds the pending rows
(``videogen.webhook_delivery.sweep``) and sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "videogen.outbox.delivery_ids"
Relay = Callable[[list[str]], None]
_relay: Relay | None = None


def configure(relay: Relay | None) -> None:
    """Set how this process nudges the broker about committed deliveries (None: leave it to the sweep)."""
    global _relay
    _relay = relay


def publish_after_commit(session: Session, delivery_ids: list[str]) -> None:
    session.info.setdefault(_PENDING, []).extend(delivery_ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    delivery_ids = session.info.pop(_PENDING, None)
    if delivery_ids and _relay is not None:
        try:
            _relay(delivery_ids)
        except Exception:  # noqa: BLE001 - the commit stands; the sweep sends them later
            log.warning("could not relay webhook deliveries %s; the sweep will", delivery_ids, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
