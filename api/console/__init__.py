"""The web console, ``/console``: a playground and dashboards for customers (signed in with an API
key) and operators (signed in with the admin token), served by the API from the installed package.

The console is a static single-page application: one HTML page and a few ES modules and
stylesheets in ``api/console/static``, written without a JavaScript toolchain (no bundler, no
framework, no dependency from npm), so the Python package is the whole build and an air-gapped
cluster serves everything itself. Its every action is a call to the public or admin HTTP API from
the browser (``static/api.js``), so what it shows is what any client gets; this module only serves
files and has no endpoint of its own.

Why the page is safe to serve beside the API:

- The credential (API key or admin token) lives in the tab's ``sessionStorage`` and goes out as
  ``Authorization: Bearer``; the API reads no cookie, so there is nothing for a cross-site request
  to ride on (no CSRF surface), and closing the tab forgets it.
- A strict Content-Security-Policy: scripts, styles and connections only from this origin, no
  inline script, media and images only from this origin or the ``blob:`` URLs the console makes
  of authenticated downloads, no framing (clickjacking), no ``<base>`` or form target elsewhere.
- The console builds its DOM with ``textContent`` and attributes, never ``innerHTML`` with data,
  so a prompt or a company name cannot inject markup.

The routes are ordinary routes (not a mounted app), as ``api.docs``'s are: ``OPTIONS``, unknown
files and methods get the same answers as everywhere else, and Starlette's ``StaticFiles`` does
the serving (content types, ``ETag``, ``Last-Modified``, 304).
"""

from __future__ import annotations

from importlib.resources import files as package_files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

CONSOLE_PATH = "/console"
ASSETS_PATH = "/console/assets"
_STATIC = package_files("api.console") / "static"
# Every file the page may load: what the package ships, fixed when the application is made.
ASSETS = frozenset(entry.name for entry in _STATIC.iterdir() if entry.is_file() and entry.name != "index.html")
# Revalidated on every load (If-None-Match, a 304 when unchanged): a new release shows at once.
ASSETS_CACHE_CONTROL = "no-cache"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


# The page, read once like the list of assets (the package does not change under a running process).
_PAGE = (_STATIC / "index.html").read_text(encoding="utf-8")


def _page(root_path: str) -> str:
    """The page, with the deployment's path prefix (``--root-path`` behind a proxy) written in, so
    that its asset links and the API calls of its scripts go to this same server."""
    return _PAGE.replace("{{root}}", root_path)


def install_console(app: FastAPI) -> None:
    """Serve ``/console`` and its assets; call before ``api.options.install_options``, whose
    catch-all route must stay last."""
    static = StaticFiles(packages=[("api.console", "static")])

    @app.get(CONSOLE_PATH, include_in_schema=False)
    async def console(request: Request) -> HTMLResponse:
        return HTMLResponse(_page(request.scope.get("root_path", "")), headers=PAGE_HEADERS)

    @app.get(f"{CONSOLE_PATH}/", include_in_schema=False)
    async def console_slash(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE_PATH}", status_code=308)

    @app.api_route(f"{ASSETS_PATH}/{{name}}", methods=["GET", "HEAD"], include_in_schema=False)
    async def console_asset(name: str, request: Request) -> Response:
        if name not in ASSETS:
            raise HTTPException(404)
        response = await static.get_response(name, request.scope)
        response.headers["Cache-Control"] = ASSETS_CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
