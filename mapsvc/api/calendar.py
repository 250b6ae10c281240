"""The working calendar deadlines are counted in: the weekdays off (public holidays, local ones,
a typhoon's day) and the weekend days worked (调休), read by every signed-in account and kept
by administrators, as `mapsvc calendar` does on the server."""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import statements, transaction
from mapsvc.incidents.model import LOCAL_TIME, NO_NUL, ReportDay
from mapsvc.workflow.calendar import NAME_LENGTH, calendar_days, set_days, unset_days

router = APIRouter(prefix="/calendar", tags=["workflow"])

Administrator = Annotated[Account, Depends(allowed(frozenset({Role.admin})))]


class CalendarDay(BaseModel):
    day: date
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a weekday off; workday: a weekend day worked (调休)")
    name: str = Field("", max_length=NAME_LENGTH, pattern=NO_NUL,
                      description="what the day is: the festival, or why it is off")


@router.get("")
async def days(request: Request, account: SignedIn,
               year: Annotated[int | None, Query(ge=2000, le=2100,
                                                 description="default: this year")] = None
               ) -> list[CalendarDay]:
    """The year's days apart from the weekly rule, in order. None at all: the year's official
    days are not entered yet, and deadlines count its holidays as working days."""
    async with statements(request) as conn:
        held = await calendar_days(conn, year or datetime.now(LOCAL_TIME).year)
    return [CalendarDay(day=d.day, kind=d.kind, name=d.name) for d in held]


class DayChange(BaseModel):
    kind: Literal["holiday", "workday"]
    name: str = Field("", max_length=NAME_LENGTH, pattern=NO_NUL)


@router.put("/{day}", status_code=204)
async def set_day(request: Request, day: ReportDay, body: DayChange,
                  account: Administrator) -> None:
    """Make ``day`` a weekday off or a weekend day worked. Deadlines already running keep
    theirs; those started after count the day as it now is."""
    async with transaction(request) as conn:
        await set_days(conn, [day], body.kind, body.name)


@router.delete("/{day}", status_code=204)
async def unset_day(request: Request, day: ReportDay, account: Administrator) -> None:
    """Give ``day`` back to the weekly rule (sent again, nothing changes)."""
    async with transaction(request) as conn:
        await unset_days(conn, [day])
