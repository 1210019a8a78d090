"""videogen's domain: what the service does, independent of HTTP, processes and terminals.

Three domains, each a folder with its tables and small modules of one job each:

- ``videogen.videos``: a video from request to file: parameters, admission, the job state
  machine, the video object, dispatch to workers, the reconciler.
- ``videogen.accounts``: who may do what: organizations, API keys, tiers, access requests,
  usage, rate limits.
- ``videogen.webhooks``: telling clients what happened: endpoints, events, the outbox, signed
  delivery with retries.

And the infrastructure they share: ``outbound`` (requests to hosts clients name: the SSRF policy
and a hardened transport, for webhook deliveries and input image URLs), ``settings`` (all
configuration), ``database`` (engines, the unit of work, ``after_commit``, column types),
``tables`` (every table, for Alembic), ``storage`` (local disk or S3), ``broker`` (Celery and
nudges), ``embedded_broker``, ``errors`` (typed errors, mapped to HTTP once in ``api.errors``),
``ids``, ``pagination``, ``secret_box`` (secrets at rest) and ``housekeeping`` (the reconciler's
round).

Dependencies point one way: ``api``, ``worker`` and ``cli`` use ``videogen``; ``videogen`` uses
``model``; nothing here imports ``api``, ``worker`` or ``cli``. Domain functions add and flush;
the caller's unit of work commits (``videogen.database``).
"""
