"""For the operator: organizations, API keys, tiers, access applications, usage and webhooks (one module per
command group), on the local database or through a deployment's admin API (``cli.operator.backend``)."""
