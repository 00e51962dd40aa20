"""FastAPI dependencies shared by the routers: database sessions and service-token auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from bot.db import Database
from bot.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


def client_ip(request: Request) -> str:
    """The client's address as the ASGI server reports it: `bot serve` lets uvicorn take X-Forwarded-For only
    from the proxies in TRUSTED_PROXIES (default none), so a reverse proxy must be listed there."""
    return request.client.host if request.client else "unknown"


def require_service_token(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """The action server authenticates with `Authorization: Bearer <SERVICE_TOKEN>`; without a token (possible
    only in development) nothing authenticates."""
    expected = f"Bearer {settings.service_token}"
    if (
        authorization is None
        or not settings.service_token.strip()
        or not hmac.compare_digest(authorization.encode(), expected.encode())
    ):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Token layanan tidak valid.",
            headers={"WWW-Authenticate": "Bearer"},
        )


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ServiceAuth = Depends(require_service_token)
