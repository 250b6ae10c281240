"""Incidents as GeoJSON, filtered by place, state and time."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import GRID_ROLES, Account, Role
from mapsvc.boundaries.reading import CODE_LENGTHS
from mapsvc.errors import NotFound
from mapsvc.geojson import Filters, feature_collection, named, named_set, page
from mapsvc.incidents.categories import under_class
from mapsvc.incidents.model import METHODS, PUBLIC_SOURCES, SOURCES
from mapsvc.workflow.clocks import COLOURS, handling_overdue, soonest_deadline
from mapsvc.workflow.machine import CLOSED_SQL, HANDLING, OPEN_SQL, STATES, TIMED_SQL, sql_list


def incident_feature(alias: str) -> str:
    """A case as a GeoJSON Feature, from ``alias``'s id and document (incident_json). Build the
    document in a subquery of its own: named three times in one expression, it would be built
    three times, and building it is most of the cost of a page of cases."""
    return (f"json_build_object('type', 'Feature', 'id', {alias}.id, 'geometry', "
            f"json_build_object('type', 'Point', 'coordinates', "
            f"json_build_array({alias}.doc->'lon', {alias}.doc->'lat')), "
            f"'properties', {alias}.doc)")


# The page is chosen by the cases' ids alone (sorting a region's cases carries no more than
# their ids), then each case of it is read again by its key to build its document (OFFSET 0
# keeps that subquery whole, so the document is built once). Ids follow the order the cases
# came in (mapsvc.incidents.batching): the newest first, or the oldest; or, ``due``, the
# urgent (加急) first, then the soonest due of their running clocks (the overdue first), then
# those with none, the newest first: the order a worker's or a department's queue is worked in.
INCIDENTS = f"""
SELECT page.sort, {incident_feature("q")} AS feature
  FROM (SELECT d.id, {{sort}} AS sort FROM incident d
         WHERE {{where}}
         ORDER BY {{key}} {{page}}) page
 CROSS JOIN LATERAL (SELECT d.id, d.doc FROM incident_doc d WHERE d.id = page.id OFFSET 0) q
"""
ORDERS = ("newest", "oldest", "due")
_DUE = f"d.urgent_at IS NULL, {soonest_deadline('d')}"


@dataclass
class IncidentFilter:
    ids: list[int] | None = None
    bbox: tuple[float, float, float, float] | None = None
    grid: str | None = None
    village: str | None = None
    township: str | None = None
    county: str | None = None
    city: str | None = None
    region: str | None = None  # a region's code, of whichever level
    statuses: tuple[str, ...] = ()  # the cases in these states
    department: str | None = None  # the department the case was dispatched to (its code)
    open: bool | None = None  # the open cases (True) or the closed ones (False)
    categories: tuple[str, ...] = ()  # classes, each with those under it
    method: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    colour: str | None = None  # the case's warning colour
    overdue: bool = False  # the cases past their handling deadline (超期在办)
    queue_of: Account | None = None  # the cases waiting on this account
    reporter_id: int | None = None  # the cases this account reported, in any state
    # the cases whose handler asked for more time, waiting on the centre's answer
    extension_requested: bool = False
    exemption_requested: bool = False  # its department asked to take it out of the evaluation
    urgent: bool | None = None  # the cases marked urgent (True) or the others (False)
    urged: bool = False  # the cases their callers urged (催办)
    response_due: bool = False  # the public's cases handled whose caller was not yet contacted
    sources: tuple[str, ...] = ()  # the cases these reported (mapsvc.incidents.model.SOURCES)
    # text the description or the source's number (工单编号) holds, as typed (no wildcards)
    words: str | None = None
    caller_of: int | None = None  # the other cases of this case's caller's phone
    caller_hash: bytes | None = None  # the cases reported from the phone of this keyed hash

    def filters(self) -> Filters:
        f = Filters()
        if self.words:  # no index: read among the cases the other filters leave (incidents_sql)
            f.holds(("d.description", "d.source_number"), self.words)
        if self.queue_of is not None:
            waiting_on(self.queue_of, f)
        if self.colour:
            # from the clocks of the cases whose clocks run, without building each case's
            # document: they are read newest first from their own index (migration 0023); the
            # colour is written in so that the plan knows how few cases have it
            colour = named(self.colour, COLOURS, field="colour", noun="colour")
            f.add(f"d.status IN {TIMED_SQL} AND incident_colour(d) = {colour}")
        if self.overdue:
            f.add(handling_overdue("d"))
        if self.ids is not None:
            f.add("d.id = ANY(:ids)", ids=self.ids)
        if self.caller_hash is not None:
            f.add(_called_from(":caller_hash"), caller_hash=self.caller_hash)
        if self.reporter_id is not None:
            f.add("d.reporter_id = :reporter", reporter=self.reporter_id)
        f.bbox("d.geom", self.bbox, inline=True)
        if self.grid:
            f.add("d.grid_id = (SELECT id FROM grid WHERE code = :grid)", grid=self.grid)
        # a region's incidents: village codes start with their township's, county's and city's
        for column in ("village", "township", "county", "city", "region"):
            if value := getattr(self, column):
                f.add(f.code_prefix("d.village_code", column, value))
        if self.statuses:
            # written in: with a parameter the plan walked all the cases, newest first, for
            # a state that few cases are in
            f.add(f"d.status IN {named_set(self.statuses, STATES, field='status', noun='state')}")
        if self.department:
            f.add("d.department_code = :department", department=self.department)
        if self.open is not None:
            f.add(f"d.status IN {OPEN_SQL if self.open else CLOSED_SQL}")
        if self.categories:
            f.add("(" + " OR ".join(under_class("d.category_code", f"category{i}")
                                    for i in range(len(self.categories))) + ")",
                  **{f"category{i}": code for i, code in enumerate(self.categories)})
        if self.method:
            # written in: the triage queue (unassigned) is read from its own index
            f.add(f"d.assignment = {named(self.method, METHODS, field='method', noun='method')}")
        if self.extension_requested:  # from their own index (migration 0034)
            f.add("d.extension_request IS NOT NULL")
        if self.exemption_requested:  # from their own index (migration 0063)
            f.add("d.exemption_requested_at IS NOT NULL")
        if self.urgent is not None:  # the urgent ones from their own index (migration 0049)
            f.add(f"d.urgent_at IS {'NOT ' if self.urgent else ''}NULL")
        if self.urged:  # from their own index (migration 0058)
            f.add("d.urged IS NOT NULL")
        if self.response_due:
            f.add(f"d.status IN {sql_list(HANDLING)} AND d.source IN {sql_list(PUBLIC_SOURCES)} "
                  "AND d.contacted_at IS NULL")
        if self.sources:  # written in, as the states are
            f.add(f"d.source IN {named_set(self.sources, SOURCES, field='source', noun='source')}")
        if self.reported_from:
            f.add("d.reported_at >= :reported_from", reported_from=self.reported_from)
        if self.reported_to:
            f.add("d.reported_at < :reported_to", reported_to=self.reported_to)
        return f


_LEVEL_OF_CODE = {length: level for level, length in CODE_LENGTHS.items()}


def waiting_on(account: Account, f: Filters) -> None:
    """The open cases whose next step is ``account``'s: grid workers and chiefs the cases of
    their grids not escalated beyond the grid (and the open ones they reported); a command
    centre the cases escalated to its level, by its region's (a centre over the whole
    deployment: those escalated to a county or a city); a department the cases dispatched to
    it."""
    f.add(f"d.status IN {OPEN_SQL}")
    if account.role in GRID_ROLES:
        f.add("((d.grid_id = ANY(:queue_grids) AND d.escalation_level = 'grid') "
              "OR d.reporter_id = :queue_me)", queue_grids=list(account.grid_ids),
              queue_me=account.id)
    elif account.role is Role.command and account.region_code is None:
        f.add("d.escalation_level IN ('county', 'city')")
    elif account.role is Role.command:
        f.add("d.escalation_level = :queue_level",
              queue_level=_LEVEL_OF_CODE[len(account.region_code)])
    elif account.role is Role.department:
        f.add("d.department_code = :queue_department AND d.status IN ('dispatched', "
              "'in_progress')", queue_department=account.department_code)
    elif account.role is not Role.admin:
        f.add("false")


def incidents_sql(where: IncidentFilter, account: Account, *, limit: int = 100,
                  offset: int = 0, order: str = "newest",
                  count: bool = False) -> tuple[str, dict]:
    """The statement listing a page of the incidents matching ``where`` within ``account``'s
    jurisdiction, in the ``order`` asked (ORDERS), as one FeatureCollection, with how many
    match in all (``numberMatched``) if ``count``; and its parameters."""
    f = where.filters()
    incident_scope(account, f)
    if where.caller_of is not None:
        _same_caller(where.caller_of, account, f)
    named(order, ORDERS, field="order", noun="order")
    # By words, the cases are read as they lie and the page's sorted out of those that hold
    # them: walked in the order of their ids, a county's cases were read one by one, each
    # from anywhere on disk, to find few or none (make bench: 0.75 s against 0.05).
    key = "d.id + 0" if where.words else "d.id"
    sort, key = {"newest": (f"-{key}", f"{key} DESC"), "oldest": (key, f"{key} ASC"),
                 "due": (f"ROW({_DUE}, -{key})", f"{_DUE}, {key} DESC")}[order]
    features = INCIDENTS.format(where=f.where(), page=page(limit, offset), key=key, sort=sort)
    matched = f"SELECT count(*) FROM incident d WHERE {f.where()}" if count else None
    return feature_collection(features, matched=matched), f.params


def _called_from(phone_hash: str) -> str:
    """SQL for the cases whose caller gave the phone of the keyed hash ``phone_hash`` (SQL)."""
    return f"""d.id = ANY(ARRAY(SELECT c.incident_id FROM incident_caller c
                                  WHERE c.phone_hash = {phone_hash}))"""


def _same_caller(case: int, account: Account, f: Filters) -> None:
    """Narrow ``f`` to the other cases whose caller gave the phone ``case``'s caller gave,
    ``case`` being one the account may read (else none)."""
    source = Filters(params={"caller_of": case})
    source.add("x.id = :caller_of")
    incident_scope(account, source, "x")
    f.add("d.id <> :caller_of")
    f.add(_called_from(f"""(
        SELECT k.phone_hash FROM incident x JOIN incident_caller k ON k.incident_id = x.id
         WHERE {source.where()})"""), **source.params)


async def incidents_geojson(conn: AsyncConnection, where: IncidentFilter, account: Account, *,
                            limit: int = 100, offset: int = 0, order: str = "newest",
                            count: bool = False) -> str:
    sql, params = incidents_sql(where, account, limit=limit, offset=offset, order=order,
                                count=count)
    return (await conn.execute(text(sql), params)).scalar_one()


def _one_case(account: Account, incident_id: int) -> Filters:
    f = Filters(params={"id": incident_id})
    f.add("d.id = :id")
    incident_scope(account, f)
    return f


async def incident_doc(conn: AsyncConnection, incident_id: int, account: Account) -> str:
    """One incident; one outside the account's jurisdiction is not found, like a missing one."""
    f = _one_case(account, incident_id)
    doc = (await conn.execute(text(f"SELECT doc::text FROM incident_doc d WHERE {f.where()}"),
                              f.params)).scalar_one_or_none()
    if doc is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return doc


async def readable(conn: AsyncConnection, incident_id: int, account: Account) -> None:
    """Nothing if the account may read the incident; not found otherwise, like a missing one."""
    f = _one_case(account, incident_id)
    if (await conn.execute(text(f"SELECT 1 FROM incident d WHERE {f.where()}"),
                           f.params)).first() is None:
        raise NotFound(f"no incident {incident_id}", field="id")
