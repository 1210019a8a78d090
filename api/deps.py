"""Request-scoped dependencies: settings, the request's unit of work, the caller's credentials.

The request's database session is its unit of work: it commits when the endpoint returns, before
the response is sent, and rolls back if the endpoint raises. Routes never commit.

FastAPI runs every plain ``def`` dependency and endpoint in a worker thread, one hand-off each way.
So what only reads the application's state is ``async def`` (no thread), and the routers'
``UnitOfWorkRoute`` runs a plain endpoint's whole unit of work in the endpoint's own thread: the
API key is authenticated there, just before the endpoint, and the commit follows right after it. A
request that touches the database costs one hand-off, and a transaction that holds a lock
(admission holds its organization's) is never left open while it waits for the event loop.
"""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from model import ModelRegistry
from videogen.accounts.api_keys import authenticate, record_use
from videogen.accounts.ratelimit import RateLimiter
from videogen.accounts.tables import ApiKey
from videogen.accounts.tiers import TierCatalog
from videogen.database import discard, finish, get_sessionmaker
from videogen.errors import AuthenticationError, PermissionDeniedError
from videogen.outbound.url_policy import WebhookURLPolicy
from videogen.secret_box import SecretBox
from videogen.settings import Settings
from videogen.storage import Storage
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.submission import VideoSubmitter
from videogen.videos.watcher import VideoWatcher


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_storage(request: Request) -> Storage:
    return cast(Storage, request.app.state.storage)


async def get_registry(request: Request) -> ModelRegistry:
    return cast(ModelRegistry, request.app.state.registry)


async def get_tiers(request: Request) -> TierCatalog:
    return cast(TierCatalog, request.app.state.tiers)


async def get_rate_limiter(request: Request) -> RateLimiter:
    return cast(RateLimiter, request.app.state.rate_limiter)


async def get_secret_box(request: Request) -> SecretBox:
    return cast(SecretBox, request.app.state.secret_box)


async def get_webhook_policy(request: Request) -> WebhookURLPolicy:
    return cast(WebhookURLPolicy, request.app.state.webhook_policy)


async def get_submitter(request: Request) -> VideoSubmitter:
    return cast(VideoSubmitter, request.app.state.submitter)


async def get_queue_positions(request: Request) -> QueuePositions:
    return cast(QueuePositions, request.app.state.queue_positions)


async def get_video_watcher(request: Request) -> VideoWatcher:
    return cast(VideoWatcher, request.app.state.video_watcher)


async def client_ip(request: Request) -> str:
    """The caller's address as uvicorn saw it (behind a proxy, run uvicorn with --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


async def get_session(settings: Annotated[Settings, Depends(get_settings)]) -> AsyncIterator[Session]:
    """``videogen.database.session_scope`` for a request. Making the session touches nothing; its
    first statement (in a worker thread) checks a connection out. A plain endpoint's unit of work
    is committed in its thread by ``UnitOfWorkRoute``; what is left here is a commit for an
    ``async`` endpoint, or the rollback of a failed request, each in one worker thread, or nothing."""
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(discard, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(finish, session)
    else:
        session.close()  # no transaction: nothing to send, no connection held


def commit_when_done(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` in its worker thread as one unit of work: the API key it was presented
    authenticated first (``PresentedApiKey``), then the endpoint, then the commit of the request's
    session (the one argument that is a ``Session``) if it succeeded. FastAPI reads the signature
    of the original."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if isinstance(value, PresentedApiKey):
                kwargs[name] = value.authenticate()
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and value.in_transaction():
                value.commit()
        return result

    return run


class UnitOfWorkRoute(APIRoute):
    """A route whose plain (``def``) endpoint authenticates, works and commits in its own worker
    thread (``commit_when_done``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = commit_when_done(endpoint)
        elif any(_depends_on(parameter, present_api_key) for parameter in _parameters(endpoint)):
            raise TypeError(
                f"{endpoint.__name__} is async: it must take ApiKeyNowDep (ApiKeyDep is authenticated in the "
                "worker thread of a plain endpoint)"
            )
        super().__init__(path, endpoint, **kwargs)


def _parameters(endpoint: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(endpoint, eval_str=True).parameters.values())


def _depends_on(parameter: inspect.Parameter, dependency: Callable[..., Any]) -> bool:
    return any(
        getattr(meta, "dependency", None) is dependency for meta in getattr(parameter.annotation, "__metadata__", ())
    )


# "function" scope commits when the endpoint returns, *before* the response is sent: a client
# that acts on a response must find its effects already in the database.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError(
            "You didn't provide an API key. Send it in the Authorization header: 'Authorization: Bearer YOUR_KEY'.",
            code="missing_api_key",
        )
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthenticationError(
            "Malformed Authorization header; expected 'Bearer YOUR_KEY'.", code="invalid_authorization_header"
        )
    return secret.strip()


# Declares bearer authentication in the OpenAPI document (generated clients need it); the header
# itself is read by ``_bearer``, which answers in our error format instead of FastAPI's.
_API_KEY_SCHEME = HTTPBearer(auto_error=False, scheme_name="ApiKey", description="An API key: vg_live_...")
_ADMIN_SCHEME = HTTPBearer(auto_error=False, scheme_name="AdminToken", description="The operator's admin token.")


def _authenticated(session: Session, secret: str) -> ApiKey:
    key = authenticate(session, secret)
    # Part of the request's unit of work, committed on its own (at most once a minute per key), so
    # that last_used_at is kept even if the request itself fails later.
    if record_use(session, key):
        session.commit()
    return key


def require_api_key(
    request: Request,
    session: SessionDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_API_KEY_SCHEME)] = None,
) -> ApiKey:
    """The caller's key, authenticated now (in a worker thread of its own): for ``async`` endpoints,
    which must refuse a stranger before reading what it sends."""
    return _authenticated(session, _bearer(request))


@dataclass(frozen=True)
class PresentedApiKey:
    """An API key as presented, not yet checked: a plain endpoint's ``commit_when_done`` checks it
    in the endpoint's worker thread, which spares every request a hand-off to a thread of its own."""

    secret: str
    session: Session

    def authenticate(self) -> ApiKey:
        return _authenticated(self.session, self.secret)


async def present_api_key(
    request: Request,
    session: SessionDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_API_KEY_SCHEME)] = None,
) -> PresentedApiKey:
    """A missing or malformed Authorization header is refused here, at once; the key itself is
    checked in the endpoint's thread."""
    return PresentedApiKey(_bearer(request), session)


async def require_admin(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_ADMIN_SCHEME)] = None,
) -> None:
    """The admin API takes the operator's token, never an organization's API key."""
    if settings.admin_token is None:
        raise PermissionDeniedError(
            "The admin API is disabled: set VIDEOGEN_ADMIN_TOKEN to enable it.", code="admin_api_disabled"
        )
    if not hmac.compare_digest(_bearer(request).encode(), settings.admin_token.get_secret_value().encode()):
        raise AuthenticationError("Incorrect admin token.", code="invalid_admin_token")


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
# A plain endpoint's key, authenticated in its worker thread (``UnitOfWorkRoute`` sees to it that the
# endpoint receives the ``ApiKey``); an ``async`` endpoint takes ``ApiKeyNowDep``.
ApiKeyDep = Annotated[ApiKey, Depends(present_api_key)]
ApiKeyNowDep = Annotated[ApiKey, Depends(require_api_key)]
TiersDep = Annotated[TierCatalog, Depends(get_tiers)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
AdminDep = Annotated[None, Depends(require_admin)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
WebhookPolicyDep = Annotated[WebhookURLPolicy, Depends(get_webhook_policy)]
SubmitterDep = Annotated[VideoSubmitter, Depends(get_submitter)]
QueuePositionsDep = Annotated[QueuePositions, Depends(get_queue_positions)]
VideoWatcherDep = Annotated[VideoWatcher, Depends(get_video_watcher)]
