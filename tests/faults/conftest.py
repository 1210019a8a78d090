"""Fixtures of the fault tests: private servers, and one production stack on them for the package.

- ``fault_servers``: Redis, PostgreSQL and moto S3 of this run's own (``tests.faults.services``).
- ``fault_stack``: API, GPU worker and webhook worker on those servers, warmed up by one job.
- ``fault``: the stack for one test; afterwards every server is resumed or started again (the
  bucket re-created), and every dead process of the stack restarted, so tests do not depend on
  one another's faults.

Package scope: the processes exist only while this package's tests run.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.services import FaultStack, PrivateServers, ReapedServiceStack, fault_env, private_servers


@pytest.fixture(scope="package")
def fault_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServers]:
    with private_servers(tmp_path_factory.mktemp("fault-servers")) as servers:
        yield servers


@pytest.fixture(scope="package")
def fault_stack(
    models_dir: Path,
    fault_servers: PrivateServers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultStack]:
    servers = fault_servers
    data_dir = tmp_path_factory.mktemp("fault-stack")
    env = fault_env(models_dir, data_dir, servers.redis, servers.postgres, servers.s3)
    app = ReapedServiceStack("faults", env, data_dir, reaper=servers.reaper)
    stack = FaultStack(servers.redis, servers.postgres, servers.s3, app, startup_seconds=dict(servers.startup_seconds))
    try:
        began = time.monotonic()
        app.start()
        stack.startup_seconds["stack start"] = time.monotonic() - began
        began = time.monotonic()
        stack.warm_up()
        stack.startup_seconds["warm-up job"] = time.monotonic() - began
        yield stack
    finally:
        stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's outcome on the test, for ``fault`` to see whether the test failed."""
    report = yield
    setattr(item, f"_fault_report_{report.when}", report)
    return report


@pytest.fixture
def fault(fault_stack: FaultStack, request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    """The stack as a test finds it: everything up. Whatever the test breaks is put back after it
    (pass or fail); after a failure the stack's processes are restarted as well."""
    yield fault_stack
    report = getattr(request.node, "_fault_report_call", None)
    fault_stack.restore(restart_processes=report is None or report.failed)


@pytest.fixture
def tenant(fault: FaultStack) -> Iterator[httpx.Client]:
    """An HTTP client for a brand-new organization (enterprise tier: no limit gets in the way)."""
    with fault.client(fault.new_key("tenant")) as http:
        yield http
