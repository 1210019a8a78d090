"""``OPTIONS`` on any path: 204 with an ``Allow`` header listing the methods that path answers;
and the same ``Allow`` header on a 405.

Routing alone answers OPTIONS with a 405, which tells a client (or a CORS preflight, or a probe
of what a URL supports) nothing, and leaves the ``Allow`` header HTTP asks for off its 405s. The
answer is computed from the application's own routes, so it cannot drift from them; it needs no
API key, as preflights carry none. An unknown path is a 404 like any other method's.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """The methods some route answers on the request's path: asked of each route as routing asks
    it (``matches``), once per method, so that routers included whole are asked like any route."""
    return {
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    }


def install_options(app: FastAPI) -> None:
    """Answer OPTIONS on every path; call after the routers are included.

    The answer is the last route and matches every method, so that it also decides what a method
    a path does not answer gets: a 405 with the ``Allow`` header (which routing alone leaves
    out), or a 404 where no route has the path at all. A route that declares OPTIONS itself, or
    answers the method, comes first and wins.
    """

    async def options_or_not_allowed(request: Request) -> Response:
        methods = allowed_methods([r for r in app.router.routes if r is not catch_all], request.scope)
        if not methods:
            raise HTTPException(404)
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        if request.method != "OPTIONS":
            raise HTTPException(405, headers={"Allow": allow})
        return Response(status_code=204, headers={"Allow": allow})

    catch_all = Route("/{path:path}", options_or_not_allowed, methods=[*_METHODS, "OPTIONS"], include_in_schema=False)
    app.router.routes.append(catch_all)
