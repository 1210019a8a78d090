"""Fast in-process tests of videogen's domain (``videogen/``), on SQLite and PostgreSQL."""
