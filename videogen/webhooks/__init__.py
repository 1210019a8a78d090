"""Webhooks: telling clients what happened to their videos, reliably and verifiably.

- ``endpoints``: where an organization wants events (OpenAI's webhook endpoints).
- ``signing``: Standard Webhooks secrets and signatures, rotation with overlap.
- ``events``: events frozen in the job's own transaction, one delivery per destination.
- ``outbox``: the relay after commit, and the sweep that re-sends lost nudges.
- ``sender``: claim, sign, POST, record, retry (the webhook workers' work).
- ``deliveries``: the delivery log and redelivery.
- The URL policy (SSRF) and the transport are shared with videos: ``videogen.outbound``.
- ``tables``: endpoints, events, deliveries and attempts.
"""
