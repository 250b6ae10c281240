"""The demo: the synthetic hierarchy inside the real seed counties, incidents in it, and some of
the demo county's cases taken through the closed loop."""

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Role
from mapsvc.accounts.passwords import check_password
from mapsvc.accounts.store import (AccountSpec, create_account, create_accounts, find_account,
                                   worked_all_along)
from mapsvc.boundaries.reading import CODE_LENGTHS, FieldNames, read_boundaries
from mapsvc.boundaries.store import import_boundaries
from mapsvc.boundaries.synthetic import generate
from mapsvc.errors import InvalidInput
from mapsvc.geo.crs import from_wgs84
from mapsvc.incidents.bulk import import_incidents
from mapsvc.incidents.intake import report_incident
from mapsvc.incidents.model import LOCAL_TIME, PUBLIC_SOURCES, SOURCES, IncidentReport
from mapsvc.registry.campaigns import change_campaign, make_campaign, record_check
from mapsvc.registry.micro_grids import divide
from mapsvc.registry.patrols import record_patrol
from mapsvc.registry.people import (correct_person, export_people, list_people,
                                    record_departure, reveal)
from mapsvc.registry.synthetic import load_registry
from mapsvc.workflow.actions import ActionRequest, act, act_on_many
from mapsvc.workflow.calendar import load_calendar
from mapsvc.workflow.departments import import_departments
from mapsvc.workflow.machine import sql_list

DEMO_NAMESPACE = uuid.UUID("7f1c1f4e-3f8a-4a52-9a36-6d0c6b1c2a10")


def write_hierarchy(folder: Path, grids: int, counties: list[str] | None = None) -> dict[str, Path]:
    return generate(grids, counties).write(folder)


async def load_hierarchy(conn: AsyncConnection, files: dict[str, Path]) -> dict[str, int]:
    """Import the generated files level by level through the ordinary boundary import."""
    counts = {}
    for level in files:  # from the top down
        fields = FieldNames() if level == "grid" else FieldNames(parent="parent_code")
        result = await import_boundaries(conn, read_boundaries(files[level], level, fields=fields))
        counts[level] = result.inserted + result.updated + result.unchanged
    return counts


def incident_rows(grids: gpd.GeoDataFrame, n: int, *, seed: int = 20261122,
                  categories: list[str], days: int = 30, repeats: bool = False,
                  callers: bool = False) -> pd.DataFrame:
    """``n`` incidents as a bulk file would hold them: points inside random grids, a few in
    GCJ-02 as map pickers report them, spread over the last ``days`` days; with ``repeats``,
    places where cases of a class keep coming among them (``_repeat``); with ``callers``, the
    public's reports with who called (synthetic names, and numbers in 100, which no mobile
    network gives out)."""
    rng = np.random.default_rng(seed)
    geoms = grids.geometry.to_numpy()
    which = rng.integers(0, len(geoms), n)
    bounds = shapely.bounds(geoms)[which]
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while len(todo):
        b = bounds[todo]
        tx = rng.uniform(b[:, 0], b[:, 2])
        ty = rng.uniform(b[:, 1], b[:, 3])
        hit = shapely.contains_xy(geoms[which[todo]], tx, ty)
        x[todo[hit]], y[todo[hit]] = tx[hit], ty[hit]
        todo = todo[~hit]
    category = rng.choice(categories, n)
    if repeats:
        _repeat(rng, x, y, category)
    crs = np.where(rng.random(n) < 0.2, "gcj02", "wgs84")
    gx, gy = from_wgs84(x, y, "gcj02")
    x, y = np.where(crs == "gcj02", gx, x), np.where(crs == "gcj02", gy, y)
    now = datetime.now(timezone.utc)
    reported = pd.to_datetime(now - pd.to_timedelta(rng.uniform(0, days * 86400, n), unit="s"))
    source = rng.choice(SOURCES[:4], n)
    public = np.isin(source, PUBLIC_SOURCES) & callers
    return pd.DataFrame({
        "client_id": [str(uuid.uuid5(DEMO_NAMESPACE, f"{seed}:{i}")) for i in range(n)],
        "category": category,
        "lon": np.char.mod("%.7f", x), "lat": np.char.mod("%.7f", y),
        "description": "示例事件（合成数据）",
        "crs": crs, "accuracy_m": np.char.mod("%.0f", rng.uniform(3, 40, n)),
        "reported_at": reported.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": source,
        "caller_name": np.where(public, np.char.mod("演示来电人%05d", np.arange(n)), ""),
        "caller_phone": np.where(public, np.char.mod("100%08d", np.arange(n)), ""),
    })


HOT_SHARE = 200  # one case in so many is the first of a place where its class keeps coming
SPREAD_M = 15  # how far from it the others lie, typically


def _repeat(rng: np.random.Generator, x: np.ndarray, y: np.ndarray,
            category: np.ndarray) -> None:
    """Make places where cases of a class keep being reported (高发点位): around one case in
    HOT_SHARE, four to nine others of its class, moved to within a few tens of metres."""
    n = len(x)
    spots = n // HOT_SHARE
    if not spots:
        return
    first = rng.choice(n, spots, replace=False)
    size = rng.integers(4, 10, spots)
    others = rng.choice(np.setdiff1d(np.arange(n), first), int(size.sum()), replace=False)
    of = np.repeat(first, size)
    x[others] = x[of] + rng.normal(0, SPREAD_M, len(of)) / (111_320 * np.cos(np.radians(y[of])))
    y[others] = y[of] + rng.normal(0, SPREAD_M, len(of)) / 110_760
    category[others] = category[of]


async def current_grids(conn: AsyncConnection) -> gpd.GeoDataFrame:
    rows = (await conn.execute(text(
        "SELECT g.code, ST_AsBinary(gv.geom) FROM grid g "
        "JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL ORDER BY g.code"))).all()
    return gpd.GeoDataFrame({"code": [r[0] for r in rows]},
                            geometry=shapely.from_wkb([r[1] for r in rows]), crs=4326)


DEMO_COUNTY = "441502"  # 汕尾市城区, where the demo's county-level accounts work
DEMO_CITY = DEMO_COUNTY[:CODE_LENGTHS["city"]]  # 汕尾市, whose centre is the demo's `city`
# The departments (code, name, the region each serves, the classes it answers for: 负责类别):
# the demo county's and its city's; and each other county's 城管 (COUNTY_DEPARTMENT, made from
# the county's code and name), whom its city's centre sends the county's cases.
DEMO_DEPARTMENTS = [
    ("CG", "城市管理和综合执法局", DEMO_COUNTY, "06 07"),
    ("ZJ", "住房和城乡建设局", DEMO_COUNTY, "08 10"), ("SW", "水务局", DEMO_COUNTY, ""),
    ("GA", "公安分局", DEMO_COUNTY, "01 02"), ("SWS-YJ", "汕尾市应急管理局", DEMO_CITY, "09")]
COUNTY_DEPARTMENT = ("{code}-CG", "{name}城市管理和综合执法局", "06 07")
# the demo's counties but the demo county, each with its city
OTHER_COUNTIES = text("""
SELECT c.code, c.name, p.code AS city, p.name AS city_name
  FROM region c JOIN region p ON p.code = c.parent_code
 WHERE c.level = 'county' AND c.code <> :county ORDER BY c.code
""")


# One account per role, scoped inside the demo county (see the README), the centre of its city
# (汕尾市) above it, and the centre of each other city (city_centre).
DEMO_ACCOUNTS = {  # each with its role and who it is, as the pages name it
    "admin": (Role.admin, "系统管理员（演示）"), "command": (Role.command, "城区指挥中心（演示）"),
    "city": (Role.command, "汕尾市指挥中心（演示）"), "grid_chief": (Role.grid_chief, "网格长（演示）"),
    "worker": (Role.grid_worker, "网格员（演示）"), "department": (Role.department, "城管局（演示）"),
    "planner": (Role.planner, "网格规划员（演示）"), "auditor": (Role.auditor, "审计员（演示）")}


def city_centre(city: str) -> str:
    """The username of the centre of the demo's city ``city`` (its code)."""
    return "city" if city == DEMO_CITY else f"city{city}"


def county_department(county: str) -> str:
    """The code of the 城管 of the county ``county``, one of the demo's counties but the demo
    county (whose 城管 is CG)."""
    return COUNTY_DEPARTMENT[0].format(code=county)


async def create_demo_accounts(conn: AsyncConnection, password: str) -> int:
    """The demo's departments and accounts. Returns the number of accounts made."""
    others = (await conn.execute(OTHER_COUNTIES, {"county": DEMO_COUNTY})).all()
    _, named, classes = COUNTY_DEPARTMENT
    listed = pd.DataFrame([*DEMO_DEPARTMENTS, *(
        (county_department(c.code), named.format(name=c.name), c.code, classes)
        for c in others)], columns=["code", "name", "region", "classes"])
    listed.attrs.update(given=("region", "classes"))  # as a list with those columns is read
    stored = await import_departments(conn, listed)
    if stored.errors:
        raise InvalidInput(f"the demo's departments: {stored.errors}")
    village_grids = list((await conn.execute(text(
        "SELECT code FROM grid WHERE village_code = (SELECT min(village_code) FROM grid "
        "WHERE village_code LIKE :county || '%') ORDER BY code"),
        {"county": DEMO_COUNTY})).scalars())
    scopes = {"command": {"region_code": DEMO_COUNTY}, "planner": {"region_code": DEMO_COUNTY},
              "city": {"region_code": DEMO_CITY}, "grid_chief": {"grid_codes": village_grids},
              "worker": {"grid_codes": village_grids[:2]}, "department": {"department_code": "CG"}}
    for username, (role, name) in DEMO_ACCOUNTS.items():
        await create_account(conn, username, password, role, display_name=name,
                             origin="mapsvc demo load", **scopes.get(username, {}))
    centres = {c.city: c.city_name for c in others if c.city != DEMO_CITY}
    made = [*(AccountSpec(username, password, Role.command, region_code=DEMO_COUNTY,
                          display_name=name) for username, (name, _, _) in CENTRE_STAFF.items()),
            *(AccountSpec(city_centre(city), password, Role.command, region_code=city,
                          display_name=f"{name}指挥中心（演示）")
              for city, name in centres.items())]
    await create_accounts(conn, made, origin="mapsvc demo load")
    return len(DEMO_ACCOUNTS) + len(made)


# The closed loop (立案 → 派遣 → 签收 → 处置 → 核查 → 结案 → 回访) with the notes its steps need;
# a walked case takes its first steps, as far as it has come.
LOOP = (("file", ""), ("dispatch", ""), ("accept", ""), ("report_handled", "已处置（演示）"),
        ("check", ""), ("check_pass", ""), ("follow_up", ""))
# how far the demo county's cases reported before the load's day are walked: the share of them
# that stop after each number of steps (0: rejected), for the LATEST (still in flight) and for
# the older ones (mostly settled: closed and rated, some rejected, a few left long overdue)
LATEST = 240
IN_FLIGHT = {0: 0.05, 1: 0.08, 2: 0.08, 3: 0.08, 4: 0.06, 5: 0.05, 6: 0.3, 7: 0.3}
SETTLED = {0: 0.06, 2: 0.01, 3: 0.02, 6: 0.08, 7: 0.83}
URGENT_SHARE = 0.2  # of the cases left with a department: marked urgent (加急) by the centre
URGED_SHARE = 0.3  # of the public's cases left with a department: their caller called again (催办)
# A public report (the hotline's, a citizen's) is verified on site before it is filed (核实): the
# centre sends the task, the grid's worker finds (or, for one rejected, finds nothing); of those
# in flight and filed, some wait still on a finding, long overdue.
UNVERIFIED_SHARE = 0.5
# how long each step takes after the one before, in hours (least, most; a grid worker's step on
# site in working hours): a case is handled within hours or only after days, on time or late by
# its class's limit; a step that would come after the load is not taken yet
STEP_HOURS = {"reject": (0.2, 3), "verify": (0.1, 1), "confirm": (0.2, 2.5), "file": (0.2, 3),
              "dispatch": (0.1, 2), "accept": (0.2, 4), "expedite": (1, 24), "urge": (4, 48),
              "report_handled": (2, 180), "check": (0.2, 1.5), "check_pass": (0.1, 0.5),
              "follow_up": (12, 72), "hand_back": (0.5, 8), "contact": (0.5, 30)}
# The demo county's centre on duty (坐席): the operators who took its past cases in and sent them
# on, each at a pace of its own (a factor on the hours of the centre's steps) and sending some
# cases to the wrong department, which hands them back (返派): the staff's evaluation tells them
# apart. Username → (name, pace, share of its dispatches sent wrong).
CENTRE_STAFF = {"zx01": ("坐席一（演示）", 0.5, 0.02), "zx02": ("坐席二（演示）", 1.0, 0.05),
                "zx03": ("坐席三（演示）", 2.0, 0.15)}
HANDLED = ("accept", "report_handled", "hand_back", "contact")  # the handler's steps
ON_SITE = ("confirm", "check", "check_pass")  # the grid worker's; the others the centre's


def _grid_worker(grid: str, column: str) -> str:
    """SQL for the ``column`` of the worker of the grid ``grid`` (SQL for its id): the first by
    name, where a grid has more than one."""
    return (f"(SELECT a.{column} FROM account_grid ag JOIN account a ON a.id = ag.account_id "
            f"WHERE ag.grid_id = {grid} AND a.role = 'grid_worker' ORDER BY a.username LIMIT 1)")


# a case's grid worker (of the case ``i``), who verifies and checks it on site
_GRID_WORKER = _grid_worker("i.grid_id", "username")
# The grid workers' own reports (the rows of source grid_worker), by the grid's worker, as if
# from its phone, and logged so; the others (the hotline's, citizens') by no account, logged as
# the demo's: SQL for import_incidents' by_row, over a row ``s`` and its grid ``l``.
REPORTED_BY = (f"CASE WHEN s.source = 'grid_worker' THEN {_grid_worker('l.grid_id', 'id')} END",
               "COALESCE((SELECT a.username FROM account a WHERE a.id = ins.reporter_id), 'demo')")
# the grid workers' paces (a factor on the hours of their steps): most find in time, some not
WORKER_PACES = (0.5, 1.0, 1.0, 2.0, 3.0)


async def walk_cases(conn: AsyncConnection, *, seed: int = 20261122) -> int:
    """Take the demo county's cases reported before today through the loop, each as far as
    chance has it (IN_FLIGHT, SETTLED), through the same actions the centre's staff
    (CENTRE_STAFF), the grid workers (verifying the public's reports and checking on site, each
    at a pace of its own) and the departments take, each step at the time it was taken after the
    case was reported (as a phone's sent after the fact), some of those left with a department
    marked urgent, the public's callers told by the department (响应), on time or late, some
    urged by their callers (催办): its wall shows cases in every state, some overdue, its panel
    cases closed, on time or late, and rated, and its evaluation workers who find in time and
    some who do not.
    Returns the number of steps taken."""
    rng = np.random.default_rng(seed)
    staff = [await find_account(conn, name) for name in CENTRE_STAFF]
    department = await find_account(conn, "department")
    codes = [code for code, _, region, _ in DEMO_DEPARTMENTS if region == DEMO_COUNTY]
    cases = (await conn.execute(text(  # the oldest first, as they came
        f"SELECT i.id, i.reported_at, i.source IN {sql_list(PUBLIC_SOURCES)} AS public, "
        f"{_GRID_WORKER} AS worker FROM incident i WHERE i.village_code LIKE :county || '%' "
        "AND i.reported_at < now() - interval '1 day' ORDER BY i.reported_at"),
        {"county": DEMO_COUNTY})).all()
    workers = {name: (await find_account(conn, name), float(rng.choice(WORKER_PACES)))
               for name in sorted({c.worker for c in cases if c.worker})}
    older = max(len(cases) - LATEST, 0)
    depths = np.concatenate([rng.choice(list(how), n, p=list(how.values()))
                             for how, n in ((SETTLED, older), (IN_FLIGHT, len(cases) - older))])
    now = datetime.now(timezone.utc)
    calendar = await load_calendar(conn)
    taken = 0
    for n, (case, depth) in enumerate(zip(cases, depths)):
        at = case.reported_at
        centre = staff[int(rng.integers(len(staff)))]
        _, pace, wrong = CENTRE_STAFF[centre.username]
        worker, worker_pace = workers.get(case.worker, (centre, pace))
        to = str(rng.choice(codes))
        rated = int(rng.choice([3, 4, 4, 5, 5, 5]))
        steps = [("reject", "不属于受理范围（演示）", to)] if depth == 0 else [
            (name, note, to) for name, note in LOOP[:depth]]
        if depth in (2, 3) and rng.random() < URGENT_SHARE:  # dispatched, or accepted
            steps.append(("expedite", "群众反映强烈，加急处置（演示）", to))
        if depth in (2, 3) and case.public and rng.random() < URGED_SHARE:
            steps.append(("urge", "诉求人来电催促办理（演示）", to))
        if depth >= 2 and rng.random() < wrong:  # first sent to the wrong department
            astray = str(rng.choice([code for code in codes if code != to]))
            steps[1:1] = [("dispatch", "", astray), ("hand_back", "不属于本单位职责（演示）", astray)]
        if case.public and depth >= 2:  # its caller told, on time or late (响应)
            sent = max(i for i, (name, _, _) in enumerate(steps) if name == "dispatch")
            steps.insert(sent + 1, ("contact", "已电话联系诉求人，告知正在办理（演示）", to))
        if case.public and case.worker:  # verified on site first; some, in flight, wait still
            waiting = depth == 1 and n >= older and rng.random() < UNVERIFIED_SHARE
            found = [] if waiting or not depth else [("confirm", "现场核实属实（演示）", to)]
            steps = [("verify", "", to), *found, *([] if waiting else steps)]
        for name, note, sent_to in steps:
            hours = float(rng.uniform(*STEP_HOURS[name]))
            if name in ON_SITE:  # in the worker's working hours, as its clocks count them
                at = calendar.add_working_hours(at, hours * worker_pace)
            else:
                at += timedelta(hours=hours * (1 if name in HANDLED else pace))
            if at > now:  # not yet: the case waits at this step
                break
            await _step(conn, (centre, department, worker), case.id, name, note, sent_to, rated,
                        at)
            taken += 1
    return taken


# The demo's other counties (海丰县, 陆丰市 in the demo's city, and those of the other cities),
# whose centre is their city's: their cases reported before the load's day, taken in and sent
# on a county's day of reports at a time (批量办理), each to the county's 城管, which the centre
# answers for (telling the public's callers it has theirs); those of the last IN_FLIGHT_DAYS
# still in flight, the older mostly settled; of those closed, a share followed up and rated.
IN_FLIGHT_DAYS = 3
FOLLOWED_UP_SHARE = 0.25


async def settle_counties(conn: AsyncConnection, *, seed: int = 20261206) -> int:
    """The cases of the demo's counties but the demo county walked as far as they have come
    (see above), each by its city's centre. Returns the number of steps taken."""
    rng = np.random.default_rng(seed)
    counties = {c.code: c.city for c in
                (await conn.execute(OTHER_COUNTIES, {"county": DEMO_COUNTY})).all()}
    centres = {city: await find_account(conn, city_centre(city))
               for city in set(counties.values())}
    cases = pd.DataFrame((await conn.execute(text(
        "SELECT id, left(village_code, 6) AS county, reported_at, "
        "       (reported_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
        f"      source IN {sql_list(PUBLIC_SOURCES)} AS public FROM incident "
        "WHERE left(village_code, 6) = ANY (:counties) AND status = 'reported' "
        "  AND reported_at < now() - interval '1 day' ORDER BY id"),
        {"counties": list(counties)})).mappings().all(),
        columns=["id", "county", "reported_at", "day", "public"])
    now = datetime.now(timezone.utc)
    recent = (cases["reported_at"] > now - timedelta(days=IN_FLIGHT_DAYS)).to_numpy()
    cases["depth"] = 0
    for how, among in ((IN_FLIGHT, recent), (SETTLED, ~recent)):
        cases.loc[among, "depth"] = rng.choice(list(how), among.sum(), p=list(how.values()))
    taken = 0
    for (county, _), day in cases.groupby(["county", "day"]):
        at = day["reported_at"].max()
        centre = centres[counties[county]]
        # each step taken on the day's cases whose depth is within its range (those rejected,
        # then those that come as far as it), the public's alone told the department has them
        # (响应)
        steps = [("reject", "不属于受理范围（演示）", 0, 0, False),
                 *((name, note, n, len(LOOP), False)
                   for n, (name, note) in enumerate(LOOP, start=1))]
        steps.insert(3, ("contact", "已电话联系诉求人，告知正在办理（演示）", 2, len(LOOP), True))
        for name, note, least, most, callers_only in steps:
            at += timedelta(hours=float(rng.uniform(*STEP_HOURS[name])))
            if at > now:  # not yet: the cases wait at this step
                break
            ids = day.loc[day["depth"].between(least, most) & (day["public"] | (not callers_only)),
                          "id"].tolist()
            if name == "follow_up":  # asked of each caller: a share of them
                for case in ids:
                    if rng.random() < FOLLOWED_UP_SHARE:
                        rated = int(rng.choice([3, 4, 4, 5, 5, 5]))
                        await act(conn, centre, case, name, ActionRequest(
                            satisfaction=rated, resolved=rated >= 4, taken_at=at))
                        taken += 1
            elif ids:
                await act_on_many(conn, centre, ids, name, ActionRequest(
                    note=note, department=county_department(county), taken_at=at))
                taken += len(ids)
    return taken


# The demo department's public cases rated lowest at their follow-up, which it asks the centre to
# take out of the evaluation (申诉), with what the centre answers: the first taken out, the
# second not, the third waiting on the centre's view.
APPEALS = (("exempt", "同一诉求反复来电，已答复（演示）"),
           ("decline_exemption", "诉求合理，应予考核（演示）"), None)


async def appeal_cases(conn: AsyncConnection) -> int:
    """The demo department's appeals (APPEALS), now. Returns the number of steps taken."""
    department, centre = (await find_account(conn, "department"),
                          await find_account(conn, "command"))
    cases = (await conn.execute(text(
        "SELECT id FROM incident WHERE status = 'evaluated' AND department_code = :department "
        f"AND source IN {sql_list(PUBLIC_SOURCES)} AND village_code LIKE :county || '%' "
        "ORDER BY satisfaction, id LIMIT :n"),
        {"department": department.department_code, "county": DEMO_COUNTY,
         "n": len(APPEALS)})).scalars().all()
    taken = 0
    for case, answer in zip(cases, APPEALS):
        await act(conn, department, case, "request_exemption",
                  ActionRequest(note="诉求明显不合理（演示）"))
        taken += 1
        if answer:
            await act(conn, centre, case, answer[0], ActionRequest(note=answer[1]))
            taken += 1
    return taken


async def _step(conn: AsyncConnection, accounts, case: int, name: str, note: str, to: str,
                rated: int, at: datetime | None = None) -> None:
    """Take step ``name`` of the loop on ``case`` (dispatched ``to`` a department) as the
    centre does; a handler's step as the department does, for a case at the department with a
    demo account, else the centre; a step on site as the grid's worker (``accounts``: the
    centre's, the department's and the worker's); ``at`` the time it was taken, if not now."""
    centre, department, worker = accounts
    by = worker if name in ON_SITE else centre
    if name in HANDLED and department and to == department.department_code:
        by = department
    await act(conn, by, case, name,
              ActionRequest(note=note, department=to, satisfaction=rated,
                            resolved=rated >= 4 or case % 3 > 0, taken_at=at))


# The demo alive (`mapsvc demo live`): the state each step of the loop is taken from.
NEXT_STEP = dict(zip(("reported", "filed", "dispatched", "in_progress", "handled", "checking",
                      "closed"), LOOP))
# a report a round, from one of these, saying so: at a random point of a random grid of the
# demo county, of a random subclass
LIVE_SOURCES = {"hotline": "12345热线来电反映，请核实处置（演示）",
                "citizen": "市民随手拍反映（演示）"}
_LIVE_REPORT = text("""
SELECT ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, c.code
  FROM (SELECT gv.geom FROM grid g JOIN grid_version gv
                 ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE g.village_code LIKE :county || '%' ORDER BY random() LIMIT 1) AS g,
       LATERAL (SELECT (ST_Dump(ST_GeneratePoints(g.geom, 1))).geom) AS p,
       LATERAL (SELECT code FROM category k WHERE NOT EXISTS
                  (SELECT 1 FROM category sub WHERE sub.parent_code = k.code)
                 ORDER BY random() LIMIT 1) AS c
""")
# and a case of the county a step further, reported a while ago: one of each state the loop
# goes on from, for a round to pick one (each step as likely as another, though most cases wait
# to be filed)
_LIVE_CASES = text(f"""
SELECT DISTINCT ON (i.status) i.id, i.status, coalesce(i.department_code,
       (SELECT code FROM department WHERE region_code = :county ORDER BY random() LIMIT 1))
       AS department,
       {_GRID_WORKER} AS worker
  FROM incident i
 WHERE i.village_code LIKE :county || '%' AND i.status = ANY(:states)
   AND i.reported_at < now() - interval '1 minute'
 ORDER BY i.status, random()
""")


async def live_round(conn: AsyncConnection) -> tuple[dict, tuple[int, str] | None]:
    """One round of the demo's life, through the ordinary paths: a report from the hotline or
    a citizen (with who called) somewhere in the demo county, and one of its cases a step
    further along the loop. Returns the incident reported and the case moved with the step
    (None: none to)."""
    centre, department = [await find_account(conn, name) for name in ("command", "department")]
    where = (await conn.execute(_LIVE_REPORT, {"county": DEMO_COUNTY})).one()
    source = random.choice(list(LIVE_SOURCES))
    serial = random.randrange(100_000)
    report = IncidentReport(client_id=uuid.uuid4(), category=where.code, lon=where.lon,
                            lat=where.lat, description=LIVE_SOURCES[source], source=source,
                            caller={"name": f"演示来电人{serial:05d}",
                                    "phone": f"100{serial:08d}"})
    stored, _ = await report_incident(conn, report, centre)
    cases = (await conn.execute(_LIVE_CASES, {"county": DEMO_COUNTY,
                                              "states": list(NEXT_STEP)})).all()
    if not cases:
        return json.loads(stored), None
    case = random.choice(cases)
    name, note = NEXT_STEP[case.status]
    worker = await find_account(conn, case.worker) if case.worker else centre
    await _step(conn, (centre, department, worker), case.id, name, note, case.department,
                random.choice([3, 4, 4, 5, 5, 5]))
    return json.loads(stored), (case.id, name)


# The demo county is staffed as a county is: besides the demo worker, each village has a grid
# worker (网格员) for the rest of its grids, named after it.
async def staff_villages(conn: AsyncConnection, password: str) -> int:
    """Make a grid worker for the grids of each village of the demo county that have none, with
    the demo password, through the ordinary path. Returns how many."""
    villages = (await conn.execute(text("""
        SELECT v.code, v.name, array_agg(g.code ORDER BY g.code) AS grids
          FROM region v JOIN grid g ON g.village_code = v.code
         WHERE v.level = 'village' AND v.code LIKE :county || '%' AND NOT EXISTS (
               SELECT 1 FROM account_grid ag JOIN account a ON a.id = ag.account_id
                WHERE ag.grid_id = g.id AND a.role = 'grid_worker')
         GROUP BY v.code, v.name ORDER BY v.code"""), {"county": DEMO_COUNTY})).all()
    await create_accounts(conn, [
        AccountSpec(f"wg{v.code}", password, Role.grid_worker, grid_codes=tuple(v.grids),
                    display_name=f"{v.name}网格员") for v in villages], origin="mapsvc demo load")
    return len(villages)


# The workers of the demo county walk round their grids (日常巡查), one patrol through all of them,
# some 30 m in from their edges. Each has a habit: most patrol on most days of the last week
# (the demo worker among them, today too), some did last a week or more ago, a few not this
# month: the wall shows today's tracks and the grids left unpatrolled.
PATROL_INSET = 0.0003  # degrees
PATROL_HABITS = {"daily": 0.75, "lapsed": 0.15, "absent": 0.1}  # the share of the workers
PATROL_MISSED = 0.3  # the share of the last week's days a daily patroller misses


async def walk_patrols(conn: AsyncConnection, *, seed: int = 20261202) -> int:
    """Record the patrols of the demo county's grid workers through the ordinary path. Returns
    how many."""
    rng = np.random.default_rng(seed)
    workers = (await conn.execute(text("""
        SELECT a.username, array_agg(ST_AsBinary(gv.geom) ORDER BY g.code) AS grids
          FROM account a JOIN account_grid ag ON ag.account_id = a.id
          JOIN grid g ON g.id = ag.grid_id
          JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE a.role = 'grid_worker' AND g.village_code LIKE :county || '%'
         GROUP BY a.username ORDER BY a.username = 'worker' DESC, a.username"""),
        {"county": DEMO_COUNTY})).all()
    habits = rng.choice(list(PATROL_HABITS), len(workers), p=list(PATROL_HABITS.values()))
    habits[0] = "daily"  # the demo worker
    now = datetime.now(timezone.utc)
    walked = 0
    for (username, grids), habit in zip(workers, habits):
        if habit == "daily":
            days = [d for d in range(7) if d == 0 or rng.random() >= PATROL_MISSED]
        else:
            days = [int(rng.integers(8, 25))] if habit == "lapsed" else []
        route = np.concatenate([_round(shapely.from_wkb(wkb)) for wkb in grids]).tolist()
        worker = await find_account(conn, username)
        for day in days:
            ended = now - timedelta(days=day, minutes=int(rng.integers(30, 180)))
            await record_patrol(
                conn, worker, client_id=uuid.uuid5(DEMO_NAMESPACE, f"patrol {username} {day}"),
                started_at=ended - timedelta(minutes=int(rng.integers(30, 60)) * len(grids)),
                ended_at=ended, points=route, note="日常巡查（演示）")
            walked += 1
    return walked


def _round(area) -> np.ndarray:
    """The positions of a walk round ``area``, PATROL_INSET in from its edge."""
    inside = area.buffer(-PATROL_INSET)
    ring = max(shapely.get_parts(area if inside.is_empty else inside),
               key=lambda part: part.area).exterior
    return shapely.get_coordinates(ring)


# The workers of the registry's township have visited most of their households (户户走到) in
# the last 45 days, some more of theirs than others: the wall's coverage shows the grids where
# over half were not visited in the days chosen.
VISIT_DAYS = 45


async def keep_registers(conn: AsyncConnection) -> int:
    """The registry's work of a day, each step written to the audit log as the pages' are (the
    auditor's page shows them): the demo worker sees the full mobile of two of its grids'
    people it cannot reach and the ID number of one whose 低保 is reviewed; its chief corrects
    a third's mobile and records a fourth moved away; the county's centre looks a fifth up by
    name for a hotline caller and exports a grid's register for a report. Returns the number of
    steps."""
    worker, chief, centre = [await find_account(conn, name)
                             for name in ("worker", "grid_chief", "command")]
    people = await list_people(conn, worker, limit=5)
    for person in people[:2]:
        await reveal(conn, worker, person["id"], "mobile", "入户走访联系不上，核对联系电话（演示）")
    await reveal(conn, worker, people[2]["id"], "id_number", "协助办理低保复核（演示）")
    await correct_person(conn, chief, people[2]["id"], {"mobile": "10098765432"},
                         "入户走访核实，手机号已更换（演示）")
    await record_departure(conn, chief, people[3]["id"], "moved_away", note="迁往深圳（演示）")
    name = (await conn.execute(text("SELECT name FROM person WHERE id = :id"),
                               {"id": people[4]["id"]})).scalar_one()
    await list_people(conn, centre, name=name, reason="12345热线来电人核实身份（演示）")
    await export_people(conn, centre, "季度人口统计上报（演示）", grid=people[0]["grid"])
    return 7


async def visit_households(conn: AsyncConnection, township: str, *, seed: float = 0.2026) -> int:
    """Record the visits of the township's households by their grids' workers, all at once.
    Returns how many."""
    await conn.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    return (await conn.execute(text("""
        WITH keen AS MATERIALIZED (
             SELECT g.id, ag.account_id, 0.2 + 0.8 * random() AS share
               FROM grid g JOIN account_grid ag ON ag.grid_id = g.id
               JOIN account a ON a.id = ag.account_id AND a.role = 'grid_worker'
              WHERE g.village_code LIKE :township || '%' ORDER BY g.id, ag.account_id)
        INSERT INTO visit (household_id, account_id, at, note)
        SELECT DISTINCT ON (h.id) h.id, k.account_id,
               now() - random() * make_interval(days => :days), '入户走访（演示）'
          FROM household h JOIN house ho ON ho.id = h.house_id
          JOIN address ad ON ad.id = ho.address_id JOIN keen k ON k.id = ad.grid_id
         WHERE random() < k.share
         ORDER BY h.id"""), {"township": township, "days": VISIT_DAYS})).rowcount


async def divide_micro_grids(conn: AsyncConnection, township: str) -> int:
    """Divide the township's grids holding households into micro-grids (微网格) by the rule, as
    their workers do, and give four in five a leader (联户长): of its residents, the one
    registered first. Returns how many micro-grids."""
    admin = await find_account(conn, "admin")
    codes = (await conn.execute(text(
        "SELECT DISTINCT g.code FROM grid g JOIN address a ON a.grid_id = g.id "
        "WHERE g.village_code LIKE :township || '%' ORDER BY g.code"),
        {"township": township})).scalars().all()
    made = sum([len((await divide(conn, admin, code))["micro_grids"]) for code in codes])
    await conn.execute(text("""
        UPDATE micro_grid m SET leader_id = (
            SELECT min(p.id) FROM person p JOIN household h ON h.id = p.household_id
              JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id
             WHERE a.micro_grid_id = m.id AND p.left_on IS NULL)
         WHERE m.serial % 5 <> 0
           AND m.grid_id IN (SELECT id FROM grid WHERE village_code LIKE :township || '%')"""),
        {"township": township})
    return made


# The county's centre has sent the registry's township's workers to check its enterprises
# before winter (专项排查), due in ten days: some workers are well on, some have begun, some
# not; one check in ten found a hazard, reported as a case. Its page and the phones show a
# campaign under way.
# a worker's pace (the share of its things it checked): the share of the workers at each
CAMPAIGN_PACES = {0.9: 0.5, 0.4: 0.3, 0.0: 0.2}
CAMPAIGN_HAZARDS = {"0201": "消防通道被杂物堵塞（演示）", "0202": "燃气管线接口老化（演示）"}
CAMPAIGN_HAZARD_SHARE = 0.1


async def run_campaign(conn: AsyncConnection, township: str, *, seed: int = 20261205) -> int:
    """Make the demo's campaign (its date then moved) and record its workers' checks through
    the ordinary path. Returns how many checks."""
    rng = np.random.default_rng(seed)
    today = datetime.now(LOCAL_TIME).date()
    centre = await find_account(conn, "command")
    made, _ = await make_campaign(
        conn, centre, client_id=uuid.uuid5(DEMO_NAMESPACE, "campaign"),
        title="冬季企业消防安全排查（演示）",
        instructions="查消防通道是否畅通、灭火器是否在有效期内、燃气管线有无泄漏",
        layer="organisations", kind="enterprise", region=township, due=today + timedelta(days=7))
    # made days before the load, as its checks were (a check is never before its campaign)
    await conn.execute(text("UPDATE campaign SET created_at = created_at - interval '4 days' "
                            "WHERE id = :id"), {"id": made["id"]})
    await change_campaign(conn, centre, made["id"], due=today + timedelta(days=10), end=False,
                          reason="部分企业年底停产检修，顺延三天")
    things = (await conn.execute(text("""
        SELECT t.target, min(a.username) AS worker FROM campaign_target t
          JOIN account_grid ag ON ag.grid_id = t.grid_id
          JOIN account a ON a.id = ag.account_id AND a.role = 'grid_worker'
         WHERE t.campaign_id = :id GROUP BY t.target ORDER BY t.target"""),
        {"id": made["id"]})).all()
    workers = sorted({thing.worker for thing in things})
    paces = dict(zip(workers, rng.choice(list(CAMPAIGN_PACES), len(workers),
                                         p=list(CAMPAIGN_PACES.values()))))
    accounts = {name: await find_account(conn, name) for name in workers}
    now = datetime.now(timezone.utc)
    checks = []
    for thing in things:
        if rng.random() >= paces[thing.worker]:
            continue
        hazard = rng.random() < CAMPAIGN_HAZARD_SHARE
        category = str(rng.choice(list(CAMPAIGN_HAZARDS))) if hazard else None
        checks.append((now - timedelta(hours=float(rng.uniform(1, 72))), thing, category))
    # sent as they were made: their hazards' cases come in (and are numbered) in time
    for at, thing, category in sorted(checks, key=lambda check: check[0]):
        await record_check(
            conn, accounts[thing.worker], made["id"],
            client_id=uuid.uuid5(DEMO_NAMESPACE, f"check {thing.target}"), target=thing.target,
            result="normal" if category is None else "hazard",
            note=CAMPAIGN_HAZARDS.get(category, ""), category=category, at=at, lon=None,
            lat=None)
    return len(checks)


async def load_demo(conn: AsyncConnection, folder: Path, *, grids: int, incidents: int,
                    password: str) -> dict:
    """Load the demo once: a database that already holds grids is left as it is. A password
    its accounts may not have is refused (InvalidInput) first."""
    for username in (*DEMO_ACCOUNTS, *CENTRE_STAFF):
        check_password(password, username)
    if (await conn.execute(text("SELECT EXISTS (SELECT 1 FROM grid)"))).scalar_one():
        return {}
    counts = await load_hierarchy(conn, write_hierarchy(folder, grids))
    counts["account"] = (await create_demo_accounts(conn, password)
                         + await staff_villages(conn, password))
    await worked_all_along(conn)  # they answer for the cases before the load too
    # the registry of the township where the demo's grid worker and chief work
    township = (await conn.execute(text(
        "SELECT min(village_code) FROM grid WHERE village_code LIKE :c || '%'"),
        {"c": DEMO_COUNTY})).scalar_one()[:9]
    counts.update(await load_registry(conn, township))
    counts["visit"] = await visit_households(conn, township)
    counts["registry step"] = await keep_registers(conn)
    counts["micro-grid"] = await divide_micro_grids(conn, township)
    categories = list((await conn.execute(text(  # the classes with no subclass, as reported
        "SELECT code FROM category k WHERE NOT EXISTS "
        "(SELECT 1 FROM category s WHERE s.parent_code = k.code) ORDER BY code"))).scalars())
    frame = incident_rows(await current_grids(conn), incidents, categories=categories,
                          repeats=True, callers=True)
    counts["incident"] = (await import_incidents(conn, frame, source="grid_worker",
                                                 actor="demo", by_row=REPORTED_BY)).inserted
    counts["case step"] = (await walk_cases(conn) + await appeal_cases(conn)
                           + await settle_counties(conn))
    counts["patrol"] = await walk_patrols(conn)
    counts["campaign check"] = await run_campaign(conn, township)
    await conn.execute(text(AS_TAKEN))
    return counts


# The demo's history is written in one go as it loads: each report and step with the time it
# was taken, come (as the service wrote it) as the load ran, and so shown come late, every one
# (`（12月7日 15:01 送达）`). It is set down as a service in use has it, each come as it was
# taken, the log's guard against change lifted for this alone, in the load's transaction.
AS_TAKEN = """
ALTER TABLE incident_log DISABLE TRIGGER incident_log_append_only;
UPDATE incident_log SET at = taken_at, taken_at = NULL WHERE taken_at IS NOT NULL;
ALTER TABLE incident_log ENABLE TRIGGER incident_log_append_only;
UPDATE incident i SET received_at = i.reported_at, updated_at = s.last
  FROM (SELECT incident_id, max(at) AS last FROM incident_log GROUP BY 1) AS s
 WHERE s.incident_id = i.id;
"""
