"""The plans of the hot queries on a table of 1,000,000 jobs: ``EXPLAIN (ANALYZE, BUFFERS)`` on
PostgreSQL, ``EXPLAIN QUERY PLAN`` and a timing on SQLite, kept in ``docs/hot-queries.md``.

    python scripts/explain_hot_queries.py                              # print them
    python scripts/explain_hot_queries.py --write docs/hot-queries.md  # the document (~3 min on 2 cores)
    python scripts/explain_hot_queries.py --databases postgresql --jobs 100000

Issue 10 wants the hot paths flat with data, and a plan says why a path is or is not: which index
a query uses, how many rows it reads for the rows it returns, whether it sorts. ``bench_scale.py``
measures the paths; this shows their statements.

**The statements are the domain's own.** Each hot path is run as the service runs it (the same
functions: ``authenticate``, ``get_video``, ``list_videos``, ``QueuePositions.of``,
``claim_next``, ``admit``, ``reconcile``, ``resend_lost_nudges``, ``purge_expired_assets``, the
webhook ``sweep``, the purges) on the service's engine, and the statements it sends are captured
at the driver (SQLAlchemy's ``before_cursor_execute``) with their parameters. Nothing is rebuilt by
hand, so the document cannot drift from the code: when a query changes, the next run shows the new
one. On PostgreSQL each statement is bound by psycopg itself (``ClientCursor.mogrify``: the
literal SQL the document shows), run once to warm the cache as a hot query is, then explained with
``ANALYZE, BUFFERS`` inside a transaction that is rolled back (an explained ``DELETE`` or
``UPDATE`` really runs). On SQLite the statement's plan is asked with its parameters, and the
statement timed (median of 5, rolled back); SQLite has no ``EXPLAIN ANALYZE``.

**What is flagged.** A sequential scan of a big table, a sort of more than a page's rows, or a
statement that reads more than 1,000 rows and ten times what it returns (a count over a queue, a
range read only to be filtered): these cost as much as the data and are what issue 10 is about.

The table is ``benchdata.Shape`` (the same as ``bench_scale.py``'s), seeded into a scratch
PostgreSQL database and a temporary SQLite file that are removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchdata
import psycopg
from benchdata import Dataset, Shape
from benchlib import BENCH_TIER, POSTGRES_ADMIN_URL, embedded_deployment, git_commit, scratch_postgres
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from model import ModelRegistry
from videogen.accounts.api_keys import authenticate
from videogen.accounts.tables import ApiKey
from videogen.accounts.tiers import TierCatalog
from videogen.database import get_engine, get_sessionmaker
from videogen.settings import Settings
from videogen.storage import Storage, storage_from_settings
from videogen.videos import jobs, service
from videogen.videos.admission import admit, purge_idempotency_keys
from videogen.videos.assets import purge_expired_assets
from videogen.videos.dispatch import resend_lost_nudges
from videogen.videos.parameters import VideoRequest, resolve_video_parameters
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.reconciler import reconcile
from videogen.webhooks.outbox import purge_delivery_log, sweep

# Tables that grow with the service's history: a sequential scan of one of them is a finding.
BIG_TABLES = frozenset({"videos", "webhook_events", "webhook_deliveries", "webhook_attempts", "idempotency_keys"})
# A statement reading more rows than this, and ten times what it returns, is flagged.
ROWS_READ_LIMIT = 1000
SQLITE_TIMING_RUNS = 5


# --- the hot queries, as the domain runs them ----------------------------------------------------


@dataclass
class Recorder:
    """The statements sent on an engine's connections, with their parameters, while it listens."""

    sent: list[tuple[str, Any]] = field(default_factory=list)

    def from_here(self) -> None:
        """Forget what a call has sent so far: its preparation is not the hot query."""
        self.sent.clear()

    @contextmanager
    def listening(self, engine: Engine) -> Iterator[None]:
        def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            self.sent.append((statement, parameters))

        self.sent.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Context:
    """What the domain calls need: the dataset's rows, the settings, storage, the recorder."""

    dataset: Dataset
    settings: Settings
    storage: Storage
    recorder: Recorder


@dataclass(frozen=True)
class HotQuery:
    name: str
    code: str  # the function that issues it
    when: str  # how often it runs
    call: Callable[[Session, Context], object]
    keep: int | None = 1  # how many of the statements the call sends to show (None: all)
    labels: tuple[str, ...] = ()  # what each statement is, when the call sends several


def _authenticate(session: Session, ctx: Context) -> object:
    return authenticate(session, ctx.dataset.api_keys[ctx.dataset.busy_org])


def _get_video(session: Session, ctx: Context) -> object:
    return service.get_video(session, ctx.dataset.completed_org, ctx.dataset.completed_id)


def _list_page(session: Session, ctx: Context) -> object:
    return service.list_videos(session, ctx.dataset.busy_org, after=None, limit=20, order="desc")


def _list_later_page(session: Session, ctx: Context) -> object:
    """The page after ten pages (a client paging back through its history)."""
    after = None
    for _ in range(10):
        page = service.list_videos(session, ctx.dataset.busy_org, after=after, limit=20, order="desc")
        after = page.items[-1].id
    ctx.recorder.from_here()
    return service.list_videos(session, ctx.dataset.busy_org, after=after, limit=20, order="desc")


def _positions_near_head(session: Session, ctx: Context) -> object:
    """A fresh process's first poll of a job near the head: the snapshot, then the head read."""
    positions = QueuePositions(
        exact_within=ctx.settings.queue_position_exact_within,
        max_age_seconds=ctx.settings.queue_snapshot_max_age_seconds,
    )
    video = service.get_video(session, ctx.dataset.head_queued_org, ctx.dataset.head_queued_id)
    ctx.recorder.from_here()
    return positions.of(session, [video])


def _claim_next(session: Session, ctx: Context) -> object:
    return jobs.claim_next(session, benchdata.MODELS[0], "explain-worker")


def _admit(session: Session, ctx: Context) -> object:
    tier = TierCatalog.from_file(ctx.settings.tiers_file).get(BENCH_TIER)
    model = benchdata.MODELS[0]
    request = VideoRequest(prompt="explain", model=model, seconds="1", size="256x256")
    params = resolve_video_parameters(
        ModelRegistry.from_file(None).get(model), prompt=request.prompt, seconds="1", size="256x256"
    )
    api_key = session.scalars(select(ApiKey).where(ApiKey.organization_id == ctx.dataset.busy_org)).one()
    ctx.recorder.from_here()
    return admit(
        session,
        api_key=api_key,
        tier=tier,
        params=params,
        idempotency_key=None,
        fingerprint=request.fingerprint(),
        idempotency_ttl=timedelta(hours=ctx.settings.idempotency_ttl_hours),
    )


def _reconcile(session: Session, ctx: Context) -> object:
    return reconcile(
        session,
        dispatch=lambda video_id, model: True,
        stale_after=timedelta(seconds=ctx.settings.stale_after_seconds),
        max_attempts=ctx.settings.max_attempts,
    )


def _resend(session: Session, ctx: Context) -> object:
    return resend_lost_nudges(session, ctx.settings, depth=lambda queue: 10**9)


def _purge_assets(session: Session, ctx: Context) -> object:
    return purge_expired_assets(session, ctx.storage)


def _sweep(session: Session, ctx: Context) -> object:
    return sweep(session, lambda delivery_id: True, timedelta(seconds=ctx.settings.redispatch_after_seconds))


def _purge_log(session: Session, ctx: Context) -> object:
    return purge_delivery_log(session, timedelta(days=ctx.settings.webhook_log_retention_days))


def _purge_keys(session: Session, ctx: Context) -> object:
    return purge_idempotency_keys(session, timedelta(hours=ctx.settings.idempotency_ttl_hours))


HOT_QUERIES = [
    HotQuery("authenticate", "videogen.accounts.api_keys.authenticate", "every request", _authenticate),
    HotQuery("get a video by id", "videogen.videos.service.get_video", "GET /v1/videos/{id}", _get_video),
    HotQuery("list page", "videogen.videos.service.list_videos", "GET /v1/videos?limit=20", _list_page),
    HotQuery(
        "list page 11", "videogen.videos.service.list_videos", "GET /v1/videos?limit=20&after=...", _list_later_page
    ),
    HotQuery(
        "queue positions",
        "videogen.videos.queue_positions._read_queue (QueuePositions.of)",
        "the head: per poll of a queued video (or page) near the head; the snapshot: in the background, at "
        "most every QUEUE_SNAPSHOT_MAX_AGE_SECONDS (5 s) per process, while polls read deep positions",
        _positions_near_head,
        keep=None,
        labels=("snapshot (the whole queue, in the background)", "head (the first 2 x QUEUE_POSITION_EXACT_WITHIN)"),
    ),
    HotQuery("claim_next: candidates", "videogen.videos.jobs.claim_next", "every job a worker starts", _claim_next),
    HotQuery(
        "admission", "videogen.videos.admission.admit", "every POST /v1/videos (all its statements)", _admit, None
    ),
    HotQuery(
        "reconciler",
        "videogen.videos.reconciler.reconcile",
        "every reconciler round (RECONCILE_INTERVAL_SECONDS, per API replica)",
        _reconcile,
        keep=None,
        labels=("lost jobs", "unsent jobs"),
    ),
    HotQuery(
        "resend_lost_nudges: runnable jobs per model",
        "videogen.videos.dispatch.resend_lost_nudges",
        "every reconciler round",
        _resend,
        keep=None,
    ),
    HotQuery(
        "purge_expired_assets", "videogen.videos.assets.purge_expired_assets", "every reconciler round", _purge_assets
    ),
    HotQuery("webhook sweep", "videogen.webhooks.outbox.sweep", "every reconciler round", _sweep),
    HotQuery("purge_delivery_log", "videogen.webhooks.outbox.purge_delivery_log", "every reconciler round", _purge_log),
    HotQuery(
        "purge_idempotency_keys",
        "videogen.videos.admission.purge_idempotency_keys",
        "every reconciler round",
        _purge_keys,
    ),
]


# --- capturing what the driver is sent -----------------------------------------------------------


def statements_of(database_url: str, query: HotQuery, ctx: Context) -> list[tuple[str, Any]]:
    """What ``query.call`` sends on the service's engine and sessions, in a transaction that is
    rolled back (the reconciler commits its batches itself, on a table where it changes nothing)."""
    with ctx.recorder.listening(get_engine(database_url)), get_sessionmaker(database_url)() as session:
        try:
            query.call(session, ctx)
            statements = list(ctx.recorder.sent)
        finally:
            session.rollback()
    return statements[: query.keep] if query.keep is not None else statements


# --- plans ------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    query: str
    code: str
    when: str
    sql: str  # as sent, with the parameters bound as literals
    plan: str
    milliseconds: float
    rows_returned: int | None = None
    rows_read: int | None = None
    buffers: int | None = None
    flags: list[str] = field(default_factory=list)


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


_SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan"}


def _postgres_flags(root: dict[str, Any]) -> tuple[int, int, list[str]]:
    """Rows returned, rows read by scans (kept and filtered out, times loops), and the findings."""
    flags: list[str] = []
    read = 0
    for node in _walk(root):
        loops = int(node.get("Actual Loops", 1))
        kept = int(node.get("Actual Rows", 0)) * loops
        removed = (
            int(node.get("Rows Removed by Filter", 0)) + int(node.get("Rows Removed by Index Recheck", 0))
        ) * loops
        kind = node["Node Type"]
        if kind in _SCANS:
            read += kept + removed
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES and kept + removed > 100:
            flags.append(f"sequential scan of {node['Relation Name']} ({kept + removed:,} rows read)")
        if kind in ("Sort", "Incremental Sort") and kept > 100:
            flags.append(f"sort of {kept:,} rows ({node.get('Sort Method', '?')})")
    returned = int(root.get("Actual Rows", 0)) * int(root.get("Actual Loops", 1))
    if read > ROWS_READ_LIMIT and read > 10 * max(returned, 1):
        flags.append(f"reads {read:,} rows for {returned:,} returned")
    return returned, read, flags


def explain_postgres(engine: Engine, query: HotQuery, statement: str, parameters: Any) -> Plan:
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        literal = psycopg.ClientCursor(raw).mogrify(statement, parameters)

        def run(sql: str) -> list[Any]:
            """``sql`` in a transaction of its own, rolled back: an explained write changes nothing,
            and the next run of the same INSERT does not collide with it."""
            try:
                with raw.cursor() as cursor:
                    cursor.execute(sql.encode())
                    return [row[0] for row in cursor.fetchall()] if cursor.description else []
            finally:
                raw.rollback()

        run(literal)  # warm, as a hot query is
        analysed = run(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {literal}")[0]
        text = "\n".join(map(str, run(f"EXPLAIN (ANALYZE, BUFFERS) {literal}")))
    top = (analysed if isinstance(analysed, list) else json.loads(analysed))[0]
    returned, read, flags = _postgres_flags(top["Plan"])
    shared = top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0)
    shown = re.search(r"Execution Time: ([\d.]+) ms", text)  # the run whose plan is shown
    return Plan(
        query.name,
        query.code,
        query.when,
        literal,
        text,
        float(shown.group(1)) if shown else round(float(top["Execution Time"]), 3),
        returned,
        read,
        int(shared),
        flags,
    )


def _sqlite_literal(statement: str, parameters: Sequence[Any]) -> str:
    """The statement with its ``?`` parameters written as SQLite literals, for reading (SQLAlchemy
    binds every value, so a ``?`` in its SQL is always a parameter)."""

    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return str(int(value))
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, bytes):
            return f"X'{value.hex()}'"
        return "'" + str(value).replace("'", "''") + "'"

    parts = statement.split("?")
    if len(parts) != len(parameters) + 1:
        return f"{statement}\n-- parameters: {list(parameters)!r}"
    return parts[0] + "".join(literal(value) + part for value, part in zip(parameters, parts[1:], strict=True))


def _sqlite_tree(rows: Sequence[tuple[int, int, int, str]]) -> str:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def explain_sqlite(engine: Engine, query: HotQuery, statement: str, parameters: Any) -> Plan:
    params = tuple(parameters or ())
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
        times = []
        returned = 0
        for _ in range(SQLITE_TIMING_RUNS + 1):  # the first warms the cache
            started = time.perf_counter()
            try:
                cursor = raw.execute(statement, params)
                returned = len(cursor.fetchall()) if cursor.description else max(cursor.rowcount, 0)
                times.append(time.perf_counter() - started)
            finally:
                raw.rollback()  # a write is undone, and the next run of an INSERT does not collide
    tree = _sqlite_tree(rows)
    flags = []
    for _, _, _, detail in rows:
        words = detail.split()
        if words[:1] == ["SCAN"] and len(words) > 1 and words[1] in BIG_TABLES and "INDEX" not in detail:
            flags.append(f"full scan of {words[1]}")
        if "TEMP B-TREE" in detail:
            flags.append(f"{detail.lower()}: sorts every row it reads ({returned:,} returned here)")
    return Plan(
        query.name,
        query.code,
        query.when,
        _sqlite_literal(statement, params),
        tree,
        round(statistics.median(times[1:]) * 1000, 3),
        rows_returned=returned,
        flags=flags,
    )


def _describe(statement: str) -> str:
    """What a statement is, in a few words: its verb, aggregates and table (``SELECT count() videos``)."""
    table = re.search(r"\b(?:FROM|UPDATE|INTO)\s+(\w+)", statement)
    aggregates = dict.fromkeys(f"{name.lower()}()" for name in re.findall(r"\b(count|sum)\(", statement, re.I))
    return " ".join([statement.split(maxsplit=1)[0].upper(), *aggregates, table.group(1) if table else ""]).strip()


def explain_all(database: str, database_url: str, ctx: Context) -> list[Plan]:
    explain = explain_sqlite if database == "sqlite" else explain_postgres
    engine = get_engine(database_url)
    plans = []
    for query in HOT_QUERIES:
        statements = statements_of(database_url, query, ctx)
        labels = query.labels
        if len(labels) != len(statements):  # numbered: a call may send the same kind of statement twice
            labels = tuple(f"{i}/{len(statements)} {_describe(sql)}" for i, (sql, _) in enumerate(statements, start=1))
        for label, (statement, parameters) in zip(labels, statements, strict=True):
            named = query if len(statements) == 1 else replace(query, name=f"{query.name}: {label}")
            plans.append(explain(engine, named, statement, parameters))
    return plans


# --- the document --------------------------------------------------------------------------------------


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.system()} {platform.release()}"


def _fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


def render(results: dict[str, tuple[list[Plan], Dataset, str]], command: str) -> str:
    any_dataset = next(iter(results.values()))[1]
    lines = [
        "# Hot queries: their plans on 1,000,000 jobs",
        "",
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{git_commit()}`.",
        "",
        f"- Machine: {_machine()} (shared with other work while this ran).",
        *(f"- {name}: {version}" for name, (_, _, version) in results.items()),
        f"- Dataset (`scripts/benchdata.py`): {any_dataset.shape.describe()}.",
        f"- Rows: {benchdata.status_counts(any_dataset.counts)}; the busiest organization has "
        f"{any_dataset.busy_org_jobs:,} jobs; the tail of {benchdata.MODELS[0]}'s queue is at position "
        f"{any_dataset.deep_queued_position:,}.",
        "",
        "Each statement is what the domain function named sends, captured at the driver and bound by it "
        "(see the script's docstring). PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` after one warm-up run, inside a "
        "transaction rolled back. SQLite: `EXPLAIN QUERY PLAN`, and the median of 5 timed runs. *Rows read* "
        "counts the rows the plan's scans produced or filtered out (times their loops); a flag marks a sequential "
        f"scan of a big table, a sort of more than 100 rows, or a statement reading over {ROWS_READ_LIMIT:,} rows "
        "and ten times what it returns.",
        "",
        "## Summary",
        "",
    ]
    names = list(results)
    header = ["query", "runs"]
    for name in names:
        header += [f"{name} ms"] + (["rows returned / read", "buffers"] if name == "postgresql" else ["rows"])
    header.append("flags")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_name = {name: {plan.query: plan for plan in plans} for name, (plans, _, _) in results.items()}
    for plan in results[names[0]][0]:
        cells = [plan.query, plan.when]
        flags = []
        for name in names:
            other = by_name[name].get(plan.query)
            if other is None:
                cells += ["-"] + (["-", "-"] if name == "postgresql" else ["-"])
                continue
            cells.append(f"{other.milliseconds:.3f}")
            if name == "postgresql":
                cells += [f"{other.rows_returned:,} / {other.rows_read:,}", f"{other.buffers:,}"]
            else:
                cells.append(f"{other.rows_returned or 0:,}")
            flags += [f"{name}: {flag}" for flag in other.flags]
        cells.append("<br>".join(f"**{flag}**" for flag in flags) or "-")
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    findings = [(name, plan) for name, (plans, _, _) in results.items() for plan in plans if plan.flags]
    lines += ["", "## Findings", ""]
    if not findings:
        lines.append(
            "No plan scans a big table sequentially, sorts more than 100 rows, or reads far more than it returns."
        )
    for name, plan in findings:
        lines.append(f"- **{name}, {plan.query}** (`{plan.code}`, {plan.when}): {'; '.join(plan.flags)}.")
    for name, (plans, _, _) in results.items():
        lines += ["", f"## {name}", ""]
        for plan in plans:
            lines += [
                f"### {plan.query}",
                "",
                f"`{plan.code}`, {plan.when}: {plan.milliseconds:.3f} ms"
                + (
                    f", {plan.rows_returned:,} rows returned, {plan.rows_read:,} read, {plan.buffers:,} buffers"
                    if plan.rows_read is not None
                    else f", {plan.rows_returned or 0:,} rows returned"
                )
                + (f". **{'; '.join(plan.flags)}**" if plan.flags else ""),
                "",
                _fence(plan.sql, "sql"),
                "",
                _fence(plan.plan),
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


# --- running ---------------------------------------------------------------------------------------------


def run_database(
    database: str, jobs_count: int, args: argparse.Namespace, stack: ExitStack
) -> tuple[list[Plan], Dataset, str]:
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"explain_{database}_")))
    deployment = stack.enter_context(embedded_deployment(folder))
    if database == "postgresql":
        url = stack.enter_context(scratch_postgres(args.postgres_url, prefix="explain"))
        deployment = replace(
            deployment, database_url=url, settings={**deployment.settings, "VIDEOGEN_DATABASE_URL": url}
        )
    print(f"{database}: seeding {jobs_count:,} jobs", file=sys.stderr)
    dataset = benchdata.seed(deployment, Shape(jobs_count))
    print(f"  {benchdata.status_counts(dataset.counts)} in {dataset.seed_seconds:.0f} s", file=sys.stderr)
    settings = Settings(
        data_dir=deployment.data_dir, database_url=deployment.database_url, tiers_file=deployment.tiers_file
    )
    engine = get_engine(deployment.database_url)
    stack.callback(engine.dispose)
    with engine.connect() as conn:
        version_sql = "SELECT sqlite_version()" if database == "sqlite" else "SHOW server_version"
        version = (
            f"{'SQLite' if database == 'sqlite' else 'PostgreSQL'} {conn.exec_driver_sql(version_sql).scalar_one()}"
        )
    ctx = Context(dataset, settings, storage_from_settings(settings), Recorder())
    return explain_all(database, deployment.database_url, ctx), dataset, version


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in the seeded table")
    parser.add_argument("--databases", default="postgresql,sqlite", help="postgresql, sqlite or both (comma-separated)")
    parser.add_argument(
        "--postgres-url", default=POSTGRES_ADMIN_URL, help="a PostgreSQL URL allowed to CREATE DATABASE"
    )
    parser.add_argument("--write", type=Path, help="write the document here (e.g. docs/hot-queries.md)")
    args = parser.parse_args()
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if unknown := set(databases) - {"sqlite", "postgresql"}:
        parser.error(f"unknown databases: {', '.join(sorted(unknown))}")
    command = "python scripts/explain_hot_queries.py " + " ".join(sys.argv[1:])
    with ExitStack() as stack:
        results = {database: run_database(database, args.jobs, args, stack) for database in databases}
        document = render(results, command.strip())
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(document)
        print(f"written to {args.write}", file=sys.stderr)
    else:
        print(document)
    findings = [
        f"{name}: {plan.query}: {'; '.join(plan.flags)}"
        for name, (plans, _, _) in results.items()
        for plan in plans
        if plan.flags
    ]
    print(f"{len(findings)} flagged" + "".join(f"\n  {line}" for line in findings), file=sys.stderr)


if __name__ == "__main__":
    main()
