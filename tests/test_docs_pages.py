"""``/docs`` (Swagger UI) and ``/redoc`` work without the internet: every file the pages load is
served by the API itself, from the package, with no API key.

What a browser in an air-gapped cluster would do, through the real application in this process:
load the page, then every URL the page references (scripts, stylesheets, favicon, the OpenAPI
document). A reference to another origin (a CDN) would be a blank page there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tests.in_process import in_process_api

PAGES = ["/docs", "/redoc"]
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


class _References(HTMLParser):
    """Every URL a page makes the browser fetch: ``src`` and ``href`` attributes, ReDoc's
    ``spec-url``, and the document URL Swagger UI's inline script passes to ``SwaggerUIBundle``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href", "spec-url"} and value]

    def handle_data(self, data: str) -> None:
        self.urls += re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", data)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client with no API key, as a browser opening the docs has none."""
    with in_process_api(Path(tmp_path_factory.mktemp("docs"))) as api, TestClient(api.app) as client:
        yield client


@pytest.mark.parametrize("page", PAGES)
def test_docs_page_loads_only_same_origin_files_and_each_is_served(browser: TestClient, page: str) -> None:
    response = browser.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "cdn" not in response.text.lower() and "fonts.googleapis" not in response.text
    urls = references(response.text)
    assert "/openapi.json" in urls
    assert len(urls) >= 3, urls  # the document, the script, the favicon (and Swagger UI's stylesheet)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{page} loads {url} from elsewhere"
        asset = browser.get(url)
        assert asset.status_code == 200, f"{page} references {url}, which answers {asset.status_code}"
        expected = CONTENT_TYPES[Path(parts.path).suffix]
        assert expected in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 100


def test_swagger_ui_loads_its_bundle_and_stylesheet_and_sends_the_document_nowhere(browser: TestClient) -> None:
    html = browser.get("/docs").text
    urls = references(html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(urls)
    # Swagger UI's default badge posts the document to an online validator: off.
    assert '"validatorUrl": null' in html


def test_docs_assets_are_cached_and_revalidated(browser: TestClient) -> None:
    first = browser.get("/docs/assets/swagger-ui-bundle.js")
    assert first.headers["cache-control"].startswith("public")
    again = browser.get("/docs/assets/swagger-ui-bundle.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = browser.head("/docs/assets/swagger-ui.css")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 1000


@pytest.mark.parametrize(
    "path", ["/docs/assets/index.html", "/docs/assets/core.py", "/docs/assets/..%2f__init__.py", "/docs/assets/"]
)
def test_only_the_pages_files_are_served(browser: TestClient, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"


def test_docs_paths_answer_options_like_every_path(browser: TestClient) -> None:
    page = browser.options("/docs")
    assert page.status_code == 204 and "GET" in page.headers["allow"]
    asset = browser.options("/docs/assets/swagger-ui.css")
    assert asset.status_code == 204 and {"GET", "HEAD"} <= set(asset.headers["allow"].split(", "))
    refused = browser.post("/docs/assets/swagger-ui.css")
    assert refused.status_code == 405 and refused.json()["error"]["code"] == "method_not_allowed"
