"""For the operator: organizations, API keys, tiers, access applications, usage, webhooks, the queue and every
organization's videos (one module per command group), on the local database or through a deployment's admin
API (``cli.operator.backend``)."""
