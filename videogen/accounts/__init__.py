"""Accounts: who may use the service, and how much.

- ``organizations``: create, find, move between tiers, suspend and reactivate.
- ``api_keys``: create (shown once), rotate, revoke, authenticate.
- ``tiers``: access tiers from the operator's TOML file.
- ``access_requests``: companies apply; operators approve onto a tier or reject.
- ``usage``: jobs and video-seconds per day and model, from the videos table.
- ``ratelimit``: request rates shared by API replicas.
- ``tables``: ``Organization``, ``ApiKey``, ``AccessRequest`` and their statuses.
"""
