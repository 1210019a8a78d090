"""``GET /v1/usage``: the caller's organization's usage and limits, from the database."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ApiKeyDep, SessionDep, TiersDep, UnitOfWorkRoute
from api.parameters import storable_parameters
from api.schemas import ErrorResponse, UsageObject
from api.serializers import usage_object
from videogen.accounts.usage import usage_report

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/usage",
    tags=["usage"],
    dependencies=[Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403)},
)


@router.get("", response_model=UsageObject, summary="Your organization's usage per day and model")
def get_usage(
    session: SessionDep,
    tiers: TiersDep,
    api_key: ApiKeyDep,
    start_date: Annotated[date | None, Query(description="First day (UTC), default 29 days before end_date.")] = None,
    end_date: Annotated[date | None, Query(description="Last day (UTC), default today.")] = None,
) -> UsageObject:
    return usage_object(
        usage_report(session, api_key.organization, tiers.of(api_key.organization), start_date, end_date)
    )
