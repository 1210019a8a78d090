"""End-to-end fault tests: the production configuration against PRIVATE Redis, PostgreSQL and S3
servers that the tests stop, pause and flush (never the shared ones). See ``conftest.py``."""
