"""The centre's metrics: GET /stats."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from mapsvc import settings
from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import transaction
from mapsvc.boundaries.reading import RegionLevel
from mapsvc.incidents.model import LOCAL_TIME, ReportDay
from mapsvc.workflow.stats import BREAKDOWNS, board, statistics

router = APIRouter(tags=["workflow"], responses={
    404: {"description": "no such region, grid or department within the account's scope"}})
Level = Annotated[RegionLevel | Literal["grid"] | None, Query(
    description="the region (or grid); default: the account's region")]
Code = Annotated[str | None, Query(description="its code")]


@router.get("/stats")
async def stats(
    request: Request,
    account: SignedIn,
    level: Level = None,
    code: Code = None,
    department: Annotated[str | None, Query(description="or a department's code")] = None,
    by: Annotated[Literal[BREAKDOWNS] | None, Query(
        description="one row per city, county, township, village, grid, department, grid "
                    "worker, member of the centre's staff (operator) or main class (category) "
                    "within, or per day, week or month (its own figures over the cases "
                    "reported in each, at most 366 rows); default: the next level down")] = None,
    category: Annotated[str | None, Query(
        description="the class whose subclasses (and itself, for its cases of none) are the "
                    "rows (by=category); default: the main classes")] = None,
    from_: Annotated[ReportDay | None, Query(
        alias="from", description="first day reported (default: 1 January)")] = None,
    to: Annotated[ReportDay | None, Query(
        description="last day reported (default: today)")] = None,
    denominator: Annotated[Literal["due", "closed"] | None, Query(
        description="按期结案率 over cases due (应结案数) or closed (结案数)")] = None,
) -> dict:
    """Reported, filed, closed, 结案率, 按期结案率, 返工率, 按时派遣率, 有效上报率, 监督举报率 (the share of the
    filed cases the public reported), handling time (average, p90), overdue now and
    satisfaction, for the cases reported in the period (local dates), with one row per subject
    of ``by``. A department reads its own figures, a grid worker or chief theirs
    (the cases they reported, their patrols, their 漏报率: ``missed``, of the cases filed in
    the grids they worked when each case was reported, those the public reported, their
    按时核实率: ``verifies``, their findings on verify tasks made in time, of those and of their
    grids' verify tasks overdue, and their 按时核查率: ``checks``, likewise of their checks on
    site; with these and their 有效上报率 their 综合指标值, ``score``, 0 to 100, by the
    ``score_weights`` given); a grid chief
    asking ``by=grid`` or ``by=worker`` reads the grids they lead together (``kind`` grids), a
    row for each of them or for each of their workers. ``by=category`` gives any subject's
    figures for each main class (大类) of its cases, a department's and a grid chief's too, and
    with ``category`` for that class (its cases of no subclass) and each of its subclasses.
    ``by=operator`` evaluates a region's centre staff (岗位考核) by the steps each took on its
    cases: 受理数 and minutes, 准确立案率, 按时派遣率, 准确派遣率 and more. ``by=day``, ``week``
    (Monday to Sunday) or ``month`` gives any subject's figures over the cases reported in each
    period (分期: a row each, in time, with its ``code`` as ISO 8601 writes it and the days
    ``from`` and ``to`` it holds of those asked about). Formulas:
    mapsvc.workflow.stats and mapsvc.workflow.positions."""
    today = datetime.now(LOCAL_TIME).date()
    async with transaction(request) as conn:
        return await statistics(
            conn, account, level=level, code=code, department=department, by=by,
            category=category,
            start=from_ or today.replace(month=1, day=1), end=to or today,
            denominator=denominator or settings.workflow().on_time_denominator)


@router.get("/stats/board")
async def stats_board(
    request: Request,
    account: SignedIn,
    level: Level = None,
    code: Code = None,
    visit_days: Annotated[int, Query(ge=1, le=366, description=(
        "a grid's households visited this recently count as visited, and a grid patrolled "
        "this recently as patrolled"))] = 30,
) -> dict:
    """The wall screen's panel: reported and closed today, open and overdue now, this year's
    rates and satisfaction, reports per day over two weeks; for a grid also its workers, how
    many of its households were visited lately and its last patrol; for a region how many of
    its grids were patrolled lately (``patrols``)."""
    async with transaction(request) as conn:
        return await board(conn, account, level=level, code=code,
                           today=datetime.now(LOCAL_TIME).date(), visit_days=visit_days)
