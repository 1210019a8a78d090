"""The interactive docs, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with every file they load
served by this API from the installed package.

FastAPI's own pages load Swagger UI, ReDoc and a favicon from CDNs: in an air-gapped cluster, or
behind a proxy that blocks them, that is a blank page. The files ship in the ``fastapi-offline``
package (Swagger UI 5, which renders the OpenAPI 3.1 document FastAPI writes; ``swagger-ui-bundle``
1.1.0 carries Swagger UI 4, which refuses 3.1), and are served under ``/docs/assets/``. Swagger UI's
badge that posts the document to an online validator is off. The pages and assets need no API key,
like the document itself.

The asset route is an ordinary route (not a mounted app), so ``OPTIONS`` and other methods get
the same answers as on every other path (``api.options``), and an unknown file is a 404 in our
error format. Starlette's ``StaticFiles`` does the serving: content types, ``ETag`` and
``Last-Modified``, and 304 for a browser's revalidation.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
# The package's folder of files: Swagger UI's bundle and stylesheet, ReDoc's bundle, a favicon.
ASSETS_PACKAGE = ("fastapi_offline", "static")
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})
# Browsers revalidate (If-None-Match) rather than fetch 3 MB again; a new release changes the ETag.
ASSETS_CACHE_CONTROL = "public, max-age=3600"


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets; call before ``api.options.install_options``,
    whose catch-all route must stay last."""
    files = StaticFiles(packages=[ASSETS_PACKAGE])
    title = app.title

    def asset_url(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_PATH}/{name}"

    def openapi_url(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{title} - Swagger UI",
            swagger_js_url=asset_url(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset_url(request, "swagger-ui.css"),
            swagger_favicon_url=asset_url(request, "favicon.png"),
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{title} - ReDoc",
            redoc_js_url=asset_url(request, "redoc.standalone.js"),
            redoc_favicon_url=asset_url(request, "favicon.png"),
            with_google_fonts=False,
        )

    @app.api_route(f"{ASSETS_PATH}/{{name}}", methods=["GET", "HEAD"], include_in_schema=False)
    async def docs_asset(name: str, request: Request) -> Response:
        if name not in ASSETS:  # only the files the pages load, whatever else the package holds
            raise HTTPException(404)
        response = await files.get_response(name, request.scope)
        response.headers["Cache-Control"] = ASSETS_CACHE_CONTROL
        return response
