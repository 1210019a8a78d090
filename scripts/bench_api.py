"""API throughput, side by side with a bare FastAPI + SQLAlchemy app (issue 10), and the API under
256 connections.

    python scripts/bench_api.py                    # both configurations, ~5 minutes on 2 cores
    python scripts/bench_api.py --quick            # a ~1 minute smoke run
    python scripts/bench_api.py --config embedded --json bench.json

Needs ``wrk`` (``apt-get install -y wrk``; the script exits saying so if it is missing), and for the
production configuration the PostgreSQL and Redis servers of ``--postgres-url`` / ``--redis-url``.

**Why side by side.** Requests per second say little on their own: they depend on the machine, its
other load, the database and the driver. So each endpoint is measured against a bare app
(``scripts/bench_bare_app.py``: one primary-key SELECT, one 20-row SELECT or one INSERT on the same
database, engine and uvicorn flags), alternating ours and bare for ``--rounds`` rounds of
``--duration`` seconds, and the figure that matters is the ratio of the medians: the machine's noise
hits both. Goals (issue 10, to reach later): GET >= 0.7x bare, list >= 0.5x, POST >= 0.3x.

**What runs.** One uvicorn process per app (``--workers 1``, log level warning, no access log); the
API is ``api.app:create_app`` with the reconciler off and a tier whose limits no run can reach, so
POSTs measure admission and not 429s. No GPU worker: created jobs stay queued, their nudges go to
the broker. Two configurations, each with state of its own that is removed afterwards:

- embedded: a SQLite file, the filesystem broker, rate limits in memory (in a temporary folder);
- production: a scratch PostgreSQL database (dropped at the end), a claimed Redis database as
  broker and rate-limit store (``--redis-url``, database 13 by default, flushed at the end; never 0).

The seed is an organization with an API key, one completed and one queued video; the POST rounds
come last so that the GETs see the same table in every round. Every created job stays queued, so
each POST round finds a longer queue than the one before (the rounds' figures are all in ``--json``);
the bare app's rows belong to another organization and are not queued, so they lengthen nothing.

**Under 256 connections** (``--overload-connections``) each endpoint of the API gets
``--overload-duration`` seconds of load while a probe polls ``/healthz``: the check is no 5xx and
no lock-up (requests may queue), and liveness answering within 1 s. Responses are counted by status
(with the body of the first of each 5xx), then the time until an ordinary GET answers again.

**Caveats.** wrk shares the 2 cores with the server (and with anyone else on the machine): one wrk
thread (``--threads``) keeps 16 connections busy for a fraction of a core, but the absolute figures
are lower than on a machine with a dedicated client. Latencies are wrk's (``--latency``), of the
requests answered within its timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    SCRIPTS_DIR,
    Account,
    Deployment,
    LivenessProbe,
    Server,
    ServerFailed,
    WrkResult,
    api_server,
    create_account,
    embedded_deployment,
    prepare,
    production_deployment,
    report_header,
    require_wrk,
    run_wrk,
    summarize_log,
    uvicorn_server,
    video_values,
    wrk_script,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from videogen.database import session_scope
from videogen.videos.tables import Video, VideoStatus

# Wide enough for the tables when the output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 150)

# The smallest request hunyuanvideo-tiny accepts, as a client sends it.
CREATE_BODY = {"prompt": "bench", "model": "hunyuanvideo-tiny", "seconds": "1", "size": "256x256"}
# Liveness must answer within this while the process is loaded.
LIVENESS_LIMIT_SECONDS = 1.0


@dataclass(frozen=True)
class Seeded:
    account: Account
    completed_id: str
    queued_id: str
    # The organization the bare app's INSERTs are for: not ours, so they never lengthen our queue.
    bare_organization_id: str


def seed(deployment: Deployment) -> Seeded:
    """An organization with a key, one completed and one queued video (oldest first in the queue),
    and another organization for the bare app's rows."""
    account = create_account(deployment)
    bare = create_account(deployment, "bare")
    completed = video_values(account.organization_id, VideoStatus.COMPLETED)
    queued = video_values(account.organization_id, VideoStatus.QUEUED)
    with session_scope(deployment.database_url) as session:
        session.execute(insert(Video), [completed, queued])
    return Seeded(account, completed["id"], queued["id"], bare.organization_id)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    ours: Callable[[Seeded], str]
    bare: Callable[[Seeded], str]
    goal: float

    @property
    def body(self) -> object:
        return CREATE_BODY if self.method == "POST" else None


ENDPOINTS = [
    Endpoint(
        "GET completed video",
        "GET",
        lambda s: f"/v1/videos/{s.completed_id}",
        lambda s: f"/videos/{s.completed_id}",
        0.7,
    ),
    Endpoint("GET queued video", "GET", lambda s: f"/v1/videos/{s.queued_id}", lambda s: f"/videos/{s.queued_id}", 0.7),
    Endpoint("GET list (limit=20)", "GET", lambda s: "/v1/videos?limit=20", lambda s: "/videos?limit=20", 0.5),
    Endpoint("POST /v1/videos", "POST", lambda s: "/v1/videos", lambda s: "/videos", 0.3),
]


@dataclass
class Run:
    """What one configuration's run needs at hand: its servers, seed, scripts folder and options."""

    ours: Server
    bare: Server
    seeded: Seeded
    lua_dir: Path
    args: argparse.Namespace

    def script(self, endpoint: Endpoint, target: str, count_statuses: bool = False) -> Path:
        headers = {"Authorization": f"Bearer {self.seeded.account.api_key}"} if target == "ours" else {}
        slug = endpoint.name.split()[0].lower() + str(ENDPOINTS.index(endpoint))
        path = self.lua_dir / f"{target}-{slug}{'-count' if count_statuses else ''}.lua"
        return wrk_script(
            path, method=endpoint.method, headers=headers, json_body=endpoint.body, count_statuses=count_statuses
        )

    def url(self, endpoint: Endpoint, target: str) -> str:
        if target == "ours":
            return self.ours.base_url + endpoint.ours(self.seeded)
        return self.bare.base_url + endpoint.bare(self.seeded)


def _check_answers(run: Run) -> None:
    """One request of each kind to each app must succeed before anything is measured: a benchmark
    of 401s or 404s would be fast and meaningless."""
    with httpx.Client(timeout=30) as client:
        for endpoint in ENDPOINTS:
            for target in ("ours", "bare"):
                headers = {"Authorization": f"Bearer {run.seeded.account.api_key}"} if target == "ours" else {}
                response = client.request(
                    endpoint.method, run.url(endpoint, target), headers=headers, json=endpoint.body
                )
                if not response.is_success:
                    server = run.ours if target == "ours" else run.bare
                    time.sleep(0.5)  # the server logs the traceback after it has answered
                    raise SystemExit(
                        f"{target} {endpoint.name}: HTTP {response.status_code} {response.text[:500]}\n"
                        f"{server.name}'s log:\n{server.log_tail()}"
                    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def throughput(run: Run, endpoint: Endpoint) -> dict[str, Any]:
    """Ours and bare alternately, ``--rounds`` times (who goes first alternates too), after a warm-up."""
    args = run.args
    scripts = {target: run.script(endpoint, target) for target in ("ours", "bare")}
    results: dict[str, list[WrkResult]] = {"ours": [], "bare": []}
    log_from = {"ours": run.ours.log_size(), "bare": run.bare.log_size()}

    def once(target: str, duration: int) -> WrkResult:
        return run_wrk(
            run.url(endpoint, target),
            scripts[target],
            duration=duration,
            connections=args.connections,
            threads=args.threads,
        )

    for target in ("ours", "bare"):
        if args.warmup:
            once(target, args.warmup)
    for round_ in range(args.rounds):
        for target in ("ours", "bare") if round_ % 2 == 0 else ("bare", "ours"):
            results[target].append(once(target, args.duration))

    figures: dict[str, Any] = {}
    for target, runs in results.items():
        figures[target] = {
            "rps": round(_median([r.rps for r in runs]), 1),
            "p99_ms": round(_median([r.p99_ms for r in runs]), 2),
            "non_2xx_3xx": sum(r.non_2xx_3xx for r in runs),
            "socket_errors": sum(r.failed_connections for r in runs),
            "rounds": [r.as_dict() for r in runs],
            "server_log": summarize_log((run.ours if target == "ours" else run.bare).log_since(log_from[target])),
        }
    bare_rps = figures["bare"]["rps"]
    ratio = figures["ours"]["rps"] / bare_rps if bare_rps else 0.0
    return {"goal": endpoint.goal, "ratio": round(ratio, 3), "meets_goal": ratio >= endpoint.goal, **figures}


def _recovery_seconds(run: Run, deadline: float = 60.0) -> float | None:
    """Seconds from the end of a load until an ordinary GET is answered 200 again (None: never)."""
    started = time.perf_counter()
    url = run.url(ENDPOINTS[0], "ours")
    headers = {"Authorization": f"Bearer {run.seeded.account.api_key}"}
    with httpx.Client(timeout=deadline) as client:
        while time.perf_counter() - started < deadline:
            try:
                if client.get(url, headers=headers).status_code == 200:
                    return round(time.perf_counter() - started, 3)
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return None


def overload(run: Run, endpoint: Endpoint) -> dict[str, Any]:
    """``--overload-connections`` connections on one endpoint of ours, liveness polled meanwhile."""
    args = run.args
    script = run.script(endpoint, "ours", count_statuses=True)
    log_from = run.ours.log_size()
    # wrk's timeout well past the API's queue timeout (30 s): a slow answer is counted, not dropped.
    with LivenessProbe(run.ours.base_url + "/healthz") as probe:
        result = run_wrk(
            run.url(endpoint, "ours"),
            script,
            duration=args.overload_duration,
            connections=args.overload_connections,
            threads=args.threads,
            timeout=45,
        )
    recovery = _recovery_seconds(run)
    five_xx = result.status_count(lambda s: s >= 500)
    return {
        "connections": args.overload_connections,
        **result.as_dict(),
        "2xx": result.status_count(lambda s: 200 <= s < 300),
        "4xx": result.status_count(lambda s: 400 <= s < 500),
        "5xx": five_xx,
        "liveness": probe.as_dict(LIVENESS_LIMIT_SECONDS),
        "recovery_seconds": recovery,
        "server_log": summarize_log(run.ours.log_since(log_from)),
        "ok": five_xx == 0
        and result.failed_connections == 0
        and result.requests > 0
        and recovery is not None
        and probe.max_seconds <= LIVENESS_LIMIT_SECONDS
        and not probe.failures,
    }


def _deployment(name: str, data_dir: Path, args: argparse.Namespace) -> AbstractContextManager[Deployment]:
    if name == "embedded":
        return embedded_deployment(data_dir)
    return production_deployment(data_dir, args.postgres_url, args.redis_url)


@contextmanager
def _servers(deployment: Deployment, seeded: Seeded, log_dir: Path) -> Iterator[tuple[Server, Server]]:
    bare_env = deployment.process_env({"BENCH_ORGANIZATION_ID": seeded.bare_organization_id})
    with (
        api_server(deployment, log_dir) as ours,
        uvicorn_server("bare", "bench_bare_app:create_app", bare_env, log_dir, app_dir=SCRIPTS_DIR) as bare,
    ):
        yield ours, bare


def bench_configuration(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench_api_{name}_") as tmp:
        data_dir = Path(tmp)
        lua_dir = data_dir / "lua"
        lua_dir.mkdir()
        with _deployment(name, data_dir, args) as deployment:
            seeded = prepare(deployment, seed)
            load_before = os.getloadavg()
            with _servers(deployment, seeded, data_dir) as (ours, bare):
                run = Run(ours, bare, seeded, lua_dir, args)
                _check_answers(run)
                report: dict[str, Any] = {"load_average_before": [round(x, 2) for x in load_before]}
                report["throughput"] = {}
                for endpoint in ENDPOINTS:
                    console.log(f"{name}: {endpoint.name}, ours vs bare")
                    report["throughput"][endpoint.name] = throughput(run, endpoint)
                report["overload"] = {}
                if args.overload_connections:
                    for endpoint in ENDPOINTS:
                        console.log(f"{name}: {endpoint.name}, {args.overload_connections} connections")
                        report["overload"][endpoint.name] = overload(run, endpoint)
                if args.keep_logs:
                    args.keep_logs.mkdir(parents=True, exist_ok=True)
                    for server in (ours, bare):
                        shutil.copy(server.log_path, args.keep_logs / f"{name}-{server.name}.log")
    return report


def _print(name: str, report: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table(
        title=f"{name}: {args.connections} connections, median of {args.rounds} x {args.duration} s, "
        f"wrk -t{args.threads} (load avg before {report['load_average_before'][0]})"
    )
    for column in ("endpoint", "ours rps", "bare rps", "ratio", "goal", "ours p99 ms", "bare p99 ms", "non-2xx o/b"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for endpoint, row in report["throughput"].items():
        ratio = f"[{'green' if row['meets_goal'] else 'yellow'}]{row['ratio']:.2f}x[/]"
        errors = f"{row['ours']['non_2xx_3xx'] + row['ours']['socket_errors']}/"
        errors += f"{row['bare']['non_2xx_3xx'] + row['bare']['socket_errors']}"
        table.add_row(
            endpoint,
            f"{row['ours']['rps']:.0f}",
            f"{row['bare']['rps']:.0f}",
            ratio,
            f">= {row['goal']}x",
            f"{row['ours']['p99_ms']:.1f}",
            f"{row['bare']['p99_ms']:.1f}",
            errors,
        )
    console.print(table)
    for endpoint, row in report["throughput"].items():
        for target in ("ours", "bare"):
            _print_log(f"{endpoint} ({target})", row[target]["server_log"])
    if not report["overload"]:
        return
    table = Table(title=f"{name}: {args.overload_connections} connections for {args.overload_duration} s (ours)")
    columns = ("endpoint", "requests", "rps", "p99 ms", "max ms", "2xx", "4xx", "5xx", "sock err")
    for column in (*columns, "healthz max ms", "healthz >1s", "recover s", "ok"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for endpoint, row in report["overload"].items():
        liveness = row["liveness"]
        table.add_row(
            endpoint,
            str(row["requests"]),
            f"{row['rps']:.0f}",
            f"{row['p99_ms']:.0f}",
            f"{row['max_ms']:.0f}",
            str(row["2xx"]),
            str(row["4xx"]),
            f"[{'red' if row['5xx'] else 'green'}]{row['5xx']}[/]",
            str(sum(row["socket_errors"].values())),
            f"{liveness['max_ms']:.0f}",
            str(liveness[f"over_{LIVENESS_LIMIT_SECONDS:g}s"]),
            "never" if row["recovery_seconds"] is None else f"{row['recovery_seconds']:.2f}",
            "[green]yes[/]" if row["ok"] else "[red]no[/]",
        )
    console.print(table)
    for endpoint, row in report["overload"].items():
        for status, body in row["error_bodies"].items():
            console.print(f"  {endpoint}: first HTTP {status} body: {body}")
        for failure in row["liveness"]["failures"]:
            console.print(f"  {endpoint}: /healthz failed: {failure}")
        _print_log(f"{endpoint} at {args.overload_connections}", row["server_log"])


def _print_log(what: str, summary: dict[str, Any]) -> None:
    if summary["errors"] or summary["warnings"]:
        console.print(
            f"  {what}: the server logged {summary['errors']} errors and {summary['warnings']} warnings; "
            f"exceptions {summary['exceptions'] or '-'}; messages {summary['messages']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--duration", type=int, default=4, help="seconds of each measured wrk run (whole seconds)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating ours/bare rounds per endpoint")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per app and endpoint (0: none)")
    parser.add_argument("--connections", type=int, default=16, help="connections of the throughput runs")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (they share the machine's cores)")
    parser.add_argument("--overload-connections", type=int, default=256, help="connections of the check (0: skip)")
    parser.add_argument("--overload-duration", type=int, default=6, help="seconds of load per endpoint in the check")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 2 s, 3 s per endpoint at 256")
    parser.add_argument(
        "--postgres-url", default=POSTGRES_ADMIN_URL, help="a PostgreSQL URL allowed to CREATE DATABASE"
    )
    parser.add_argument("--redis-url", default=REDIS_URL, help="a private Redis database (never 0), flushed afterwards")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep-logs", type=Path, help="copy the servers' logs into this folder")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds, args.overload_duration = 2, 1, 3
    require_wrk()

    configs = ["embedded", "production"] if args.config == "both" else [args.config]
    report = report_header(args)
    report["configurations"] = {}
    started = time.perf_counter()
    for name in configs:
        try:
            report["configurations"][name] = bench_configuration(name, args)
        except ServerFailed as exc:
            console.print(f"[red]{name}: a server did not start[/red]\n{exc}")
            sys.exit(1)
        _print(name, report["configurations"][name], args)
    report["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    console.print(f"done in {report['elapsed_seconds']:.0f} s (commit {report['commit']})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
