"""For the operator: organizations, API keys, tiers, access applications, usage and webhooks, read and changed
directly in the database (one module per command group)."""
