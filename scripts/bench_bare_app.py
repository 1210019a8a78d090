"""The floor that ``scripts/bench_api.py`` measures the API against: FastAPI and SQLAlchemy doing
the least a request of each kind has to do, on the same database, the same engine and the same
uvicorn flags.

    python -m uvicorn --factory bench_bare_app:create_app --app-dir scripts --workers 1 --no-access-log

Why a floor of our own rather than a published figure: requests per second depend on the machine,
the database and the driver far more than on any framework, so the only useful comparison is one
measured side by side, on the same machine, in the same minute. What separates the API from this app
is then what the API does per request (authentication, the organization's scoping, the concurrency
gate, serializing the full video object, admission, the broker's nudge), which is what its
optimisations can shrink.

Each endpoint is a sync ``def`` (FastAPI runs it in its threadpool, as the API's are) with one
statement and no authentication:

- ``GET /videos/{id}``: ``session.get(Video, id)``, a few columns back;
- ``GET /videos?limit=20``: one SELECT of 20 rows, newest id first;
- ``POST /videos``: one INSERT into ``videos`` for ``BENCH_ORGANIZATION_ID``, committed. The rows
  are ``cancelled`` (the status is just a value to the INSERT): as queued jobs they would lengthen
  the queue that the API's creates and retrievals count, and the floor would slow the API down.

The engine is ``videogen.database.make_engine`` with the API's default pool bounds, so both apps
get the same pool size, SQLite pragmas (WAL, busy timeout) and PostgreSQL connect arguments: the
difference measured is the application's, not the engine's tuning. Settings come from the
environment: ``VIDEOGEN_DATABASE_URL`` and ``BENCH_ORGANIZATION_ID``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

import videogen.accounts.tables  # noqa: F401 - the organizations table, which videos' foreign key names
from videogen.database import PoolBounds, make_engine
from videogen.ids import new_id
from videogen.videos.tables import Video, VideoStatus


class CreateBody(BaseModel):
    prompt: str
    model: str = "hunyuanvideo-tiny"
    seconds: str = "1"
    size: str = "256x256"


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _summary(video: Video) -> dict[str, Any]:
    return {
        "id": video.id,
        "object": "video",
        "status": video.status.value,
        "model": video.model,
        "prompt": video.prompt,
        "size": video.size,
        "created_at": int(video.created_at.timestamp()),
    }


def create_app() -> FastAPI:
    database_url = os.environ["VIDEOGEN_DATABASE_URL"]
    organization_id = os.environ["BENCH_ORGANIZATION_ID"]
    app = FastAPI(title="bare", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sessions = sessionmaker(make_engine(database_url, PoolBounds()), expire_on_commit=False)

    @app.get("/readyz")
    def readyz(s: SessionDep) -> dict[str, str]:
        s.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/videos/{video_id}")
    def get_video(video_id: str, s: SessionDep) -> dict[str, Any]:
        video = s.get(Video, video_id)
        if video is None:
            raise HTTPException(404, "no such video")
        return _summary(video)

    @app.get("/videos")
    def list_videos(s: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
        rows = s.scalars(select(Video).order_by(Video.id.desc()).limit(limit))
        return {"object": "list", "data": [_summary(video) for video in rows]}

    @app.post("/videos")
    def create_video(body: CreateBody, s: SessionDep) -> dict[str, Any]:
        width, _, height = body.size.partition("x")
        video = Video(
            id=new_id("video"),
            organization_id=organization_id,
            status=VideoStatus.CANCELLED,
            model=body.model,
            prompt=body.prompt,
            seconds=body.seconds,
            width=int(width),
            height=int(height),
            fps=8,
            num_frames=9,
            num_inference_steps=4,
            guidance_scale=6.0,
            seed=secrets.randbelow(2**31),
        )
        s.add(video)
        s.commit()
        return _summary(video)

    return app
