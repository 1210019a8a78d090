"""Request-scoped dependencies: settings, a database session, the caller's API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from model import ModelRegistry
from videogen import accounts
from videogen.db import session_scope
from videogen.errors import AuthenticationError
from videogen.orm import ApiKey
from videogen.settings import Settings
from videogen.storage import Storage


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


def get_session(settings: Annotated[Settings, Depends(get_settings)]) -> Iterator[Session]:
    with session_scope(settings.database_url) as session:
        yield session


def require_api_key(request: Request, session: Annotated[Session, Depends(get_session)]) -> ApiKey:
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
    key = accounts.authenticate(session, secret.strip())
    session.commit()  # persist last_used_at even if the request itself fails later
    return key


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SessionDep = Annotated[Session, Depends(get_session)]
ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
