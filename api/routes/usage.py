"""``GET /v1/usage``: the caller's organization's usage and limits, from the database."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ApiKeyDep, SessionDep, TiersDep, UnitOfWorkRoute
from api.parameters import storable_parameters
from api.schemas import ErrorResponse, UsageBucketObject, UsageObject
from videogen.accounts.usage import UsageReport, usage_report

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/usage",
    tags=["usage"],
    dependencies=[Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403)},
)


def usage_object(report: UsageReport) -> UsageObject:
    return UsageObject(
        organization_id=report.organization_id,
        tier=report.tier,
        start_date=report.start_date,
        end_date=report.end_date,
        data=[UsageBucketObject(**asdict(bucket)) for bucket in report.data],
        today={
            "video_seconds": report.today_video_seconds,
            "video_seconds_limit": report.daily_quota,
            "video_seconds_remaining": max(0.0, report.daily_quota - report.today_video_seconds),
        },
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
