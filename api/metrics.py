"""The API's own Prometheus metrics: every HTTP request counted by method, route and status, and
timed, as pure ASGI middleware.

The route is the template a request matched (``/v1/videos/{video_id}``), never the raw path, so
the number of series stays bounded whatever clients send; a path no route has is ``unmatched``,
and a method HTTP does not define is ``other``. Being ASGI middleware (not Starlette's
``BaseHTTPMiddleware``) it adds no task or stream per request, and it sits outside the request
queue (``api.limits``): the time counted is the time the client waited, and a 503 from a full
queue is counted like any other answer.

Several uvicorn workers behind one port (``videogen serve --workers N``): a scrape reaches one of
them at random, and per-process counters would go back and forth between the processes' counts.
So ``videogen serve`` with more than one worker sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode, chosen when the library is first imported), every process writes its counters
there, and ``/metrics`` sums them (``process_metrics``). Replicas in pods are scraped one by one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import cast

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
# The status of a request whose client went away before any answer (nginx's convention).
CLIENT_CLOSED_REQUEST = 499
OTHER_METHOD = "other"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A route that matches every path (api.options' OPTIONS/405/404 answer) names no route.
_CATCH_ALL_TEMPLATE = "/{path}"

HTTP_REQUESTS = Counter(
    "videogen_http_requests",
    "HTTP requests the API answered, by method, route template (unmatched: no route has the path) and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "videogen_http_request_duration_seconds",
    "Seconds from a request's arrival to the end of its response (a download's too), by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

# Live status (api.events, api.prefer): what this process carries now. In multiprocess mode each
# process writes its own value and a scrape sums those of the processes alive.
EVENT_STREAMS_OPEN = Gauge(
    "videogen_event_streams_open",
    "Event streams (GET /v1/videos/{id}/events) open now.",
    multiprocess_mode="livesum",
)
PREFER_WAITS = Gauge(
    "videogen_prefer_waits",
    "Requests with Prefer: wait waiting now for their video to end.",
    multiprocess_mode="livesum",
)


def process_metrics() -> bytes:
    """The exposition of this API's own counters: every process's, summed, in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def leaf_routes(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The routes requests end at, with their full paths: FastAPI versions that keep an included
    router whole say so through ``iter_route_contexts``; older ones copied its routes in."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # pragma: no cover - FastAPI before included routers were kept whole
        return list(routes)
    # A route context answers ``path_format`` and ``matches`` as a route does, with the full path.
    return cast(list[BaseRoute], list(iter_route_contexts(routes)))


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that answered; for requests no specific route took (a 404, a
    405, OPTIONS, a 503 before routing), the route routing would pick for the path, ignoring the
    method (``routes`` as ``leaf_routes`` gives them), else ``unmatched``."""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str) and template != _CATCH_ALL_TEMPLATE:
        return template
    probe = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", ""), "method": scope["method"]}
    partial = None
    for route in routes:
        template = getattr(route, "path_format", None)
        if template == _CATCH_ALL_TEMPLATE or not isinstance(template, str):
            continue
        match = route.matches(probe)[0]
        if match is Match.FULL:
            return template
        if match is Match.PARTIAL and partial is None:
            partial = template
    return partial or UNMATCHED


class HttpMetrics:
    """Counts and times every HTTP request (``videogen_http_requests_total``,
    ``videogen_http_request_duration_seconds``); add it last, so it is the outermost."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]):
        self.app = app
        self.routes = routes  # the application's, complete once it serves
        self._leaves: list[BaseRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Kept before the app runs: routing rewrites the scope's root path under a mount.
        original = {"path": scope["path"], "root_path": scope.get("root_path", ""), "method": scope["method"]}
        started = time.perf_counter()
        status: int | None = None

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
            # No answer and no error: the client hung up before its request was read.
            status = CLIENT_CLOSED_REQUEST if status is None else status
        finally:
            status = 500 if status is None else status  # an exception nothing answered: a dropped 500
            method = original["method"] if original["method"] in _METHODS else OTHER_METHOD
            if self._leaves is None:
                self._leaves = leaf_routes(self.routes)
            route = route_template({**scope, **original}, self._leaves)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(method=method, route=route).observe(time.perf_counter() - started)
