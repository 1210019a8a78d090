"""Videos: a client's request, from submission to a file in storage.

- ``parameters``: a request checked against the model's limits, defaults filled in.
- ``submission``: the create use case (``VideoSubmitter.submit``): rate limit, model, tier,
  webhook URL, admission, dispatch.
- ``admission``: exact concurrency, quota and idempotency checks, then the job's row.
- ``jobs``: the job state machine (claim, heartbeat, complete, fail, requeue, cancel).
- ``service``: a client's videos once submitted: get, list, describe, cancel, delete, content.
- ``objects``: the video object of OpenAI's Videos API, plus our extensions.
- ``dispatch``: nudging GPU workers after the commit; ``reconciler``: re-sending what was lost.
- ``reference_images``: an ``input_reference`` image decoded, checked and fitted to the video's
  size (uploads, data: URLs, https URLs fetched through ``videogen.outbound``).
- ``assets``: where a job's files go, and their expiry; ``stats``: numbers for the metrics.
- ``tables``: ``Video`` (the source of truth for every job) and ``IdempotencyKey``.
"""
