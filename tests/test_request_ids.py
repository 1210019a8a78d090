"""Request ids: one on every response (``x-request-id``), the caller's kept when sane, in every
error body, and on every log line written while the request was handled."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from tests.in_process import InProcessApi, in_process_api
from tests.stack import ServiceStack, wait_until
from videogen.logs import ContextFilter
from videogen.settings import Settings

GENERATED = re.compile(r"req_[0-9a-f]{32}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApi]:
    with in_process_api(Path(tmp_path_factory.mktemp("request-ids"))) as api:
        yield api


@pytest.fixture
def http(api: InProcessApi) -> TestClient:
    return api.client()


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The records logged meanwhile, through the context filter every process's handler has."""
    context = ContextFilter()
    caplog.handler.addFilter(context)
    try:
        with caplog.at_level(logging.DEBUG):
            yield caplog
    finally:
        caplog.handler.removeFilter(context)


def error_of(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]  # type: ignore[no-any-return]


def test_each_response_has_its_own_generated_request_id(http: TestClient) -> None:
    first, second = http.get("/v1/models"), http.get("/v1/models")
    assert first.status_code == second.status_code == 200
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert ids[0] != ids[1]
    # Time-ordered, like every id of ours.
    assert ids[0] < ids[1] or ids[0][:16] == ids[1][:16]


@pytest.mark.parametrize("sent", ["my-trace-1234", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "gw:abc/DEF+1==", "x" * 128])
def test_a_sane_request_id_from_the_caller_is_kept(http: TestClient, sent: str) -> None:
    response = http.get("/v1/models", headers={"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent
    assert response.headers.get_list("x-request-id") == [sent]


@pytest.mark.parametrize("sent", ["", "x" * 129, "two words", "semi;colon", 'quo"te', "caf\u00e9", "a\tb"])
def test_an_insane_request_id_is_replaced(http: TestClient, sent: str) -> None:
    response = http.get("/v1/models", headers={"X-Request-Id": sent.encode()})  # type: ignore[dict-item]
    assert GENERATED.fullmatch(response.headers["x-request-id"]), response.headers["x-request-id"]


def test_an_unknown_url_answers_with_its_request_id_in_the_body(http: TestClient) -> None:
    response = http.get("/v1/nowhere", headers={"X-Request-Id": "lost-1"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "lost-1"
    assert error_of(response) == {
        "message": "Unknown request URL: GET /v1/nowhere.",
        "type": "invalid_request_error",
        "param": None,
        "code": "unknown_url",
        "request_id": "lost-1",
    }


def test_a_validation_error_carries_the_request_id(http: TestClient) -> None:
    # What FastAPI answers with a 422 is a 400 here, in OpenAI's format (api.errors).
    response = http.post("/v1/videos", json={"seconds": "4"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "missing_required_parameter"
    assert error["request_id"] == response.headers["x-request-id"]
    assert GENERATED.fullmatch(str(error["request_id"]))


def test_a_body_refused_by_the_middleware_carries_the_request_id(api: InProcessApi, http: TestClient) -> None:
    response = http.post(
        "/v1/webhook_endpoints", content=b"x" * (api.settings.api_max_body_bytes + 1), headers={"X-Request-Id": "big"}
    )
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big"
    assert error_of(response)["request_id"] == "big"
    assert error_of(response)["code"] == "request_too_large"


def test_the_last_resort_answer_and_its_log_line_carry_the_request_id(
    tmp_path: Path, logged: pytest.LogCaptureFixture
) -> None:
    """A database that refuses connections: no handler maps that, the last resort (api.limits)
    answers 503 and logs it."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url="postgresql+psycopg://videogen@127.0.0.1:1/nowhere",
        database_connect_timeout_seconds=1,
        rate_limit_url="memory://",
        reconcile_interval_seconds=0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        response = http.get("/v1/models", headers={"Authorization": "Bearer sk-anything", "X-Request-Id": "down-1"})
    assert response.status_code == 503, response.text
    assert response.headers["x-request-id"] == "down-1"
    assert error_of(response)["code"] == "database_unavailable"
    assert error_of(response)["request_id"] == "down-1"
    last_resort = [r for r in logged.records if r.name == "api.limits"]
    assert last_resort, logged.text
    assert {getattr(r, "request_id", None) for r in last_resort} == {"down-1"}


def test_every_line_logged_while_handling_a_request_carries_its_id(
    http: TestClient, logged: pytest.LogCaptureFixture
) -> None:
    """Ours and third parties' alike (SQLAlchemy's statements, here), in the request's thread."""
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        response = http.post(
            "/v1/videos", json={"prompt": "a logged fox", "seconds": "1"}, headers={"X-Request-Id": "r-7"}
        )
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert response.status_code == 200, response.text
    during = [r for r in logged.records if r.name.startswith("sqlalchemy.engine")]
    assert during, "SQLAlchemy logged no statement"
    assert {getattr(r, "request_id", None) for r in during} == {"r-7"}
    # And nothing is left bound once the request is over.
    logging.getLogger("tests").warning("after the request")
    assert getattr(logged.records[-1], "request_id", "unset") is None


def test_the_openai_sdk_reads_the_request_id_of_an_error(stack: ServiceStack, client: openai.OpenAI) -> None:
    """The SDK's exceptions expose the header (``request_id``) and our error object (``body``);
    both name the same request, which the API's log names too."""
    with pytest.raises(openai.NotFoundError) as raised:
        client.videos.retrieve("video_0123456789abcdef0123456789abcdef")
    error = raised.value
    assert error.request_id is not None and GENERATED.fullmatch(error.request_id)
    assert isinstance(error.body, dict) and error.body["request_id"] == error.request_id
    assert error.code == error.body["code"] and error.code is not None

    log = stack.log_dir / f"{stack.name}-api.log"
    # uvicorn's access line, written through our handler: text format, the id in brackets.
    wait_until(lambda: f"[request_id={error.request_id}]" in log.read_text(errors="replace"), 30, message="log line")
    lines = [line for line in log.read_text(errors="replace").splitlines() if error.request_id in line]
    [access] = [line for line in lines if " uvicorn.access " in line]
    assert " 404" in access and "GET /v1/videos/video_0123" in access, access
