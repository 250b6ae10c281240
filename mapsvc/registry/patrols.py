"""Patrols (日常巡查): the track a grid worker walked between starting and ending a patrol on
the phone, sent once it ends (also after a while with no signal), with the grids it passed
through and how far it went in each.

A patrol is read by its walker, by the grid chiefs of the grids it passed through, by the
command centres over them and by admins; never by departments or planners. Its track (行踪轨迹,
sensitive personal information) is erased once the privacy settings' days are over; what the
patrol proved, its times, length and grids, stays.
"""

import json
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import WORKER_NAME, Account, Role
from mapsvc.errors import Conflict, NotFound
from mapsvc.geojson import Filters, feature_collection, page
from mapsvc.workflow.actions import NOTIFY_CHANNEL

# The track, as the phone sent its positions (WGS84), with its length on the ellipsoid. A
# patrol said to end ahead of now (a phone's clock running ahead) ended when it came: its start
# moves back with its end, so that it lasts as long.
_STORE = text("""
WITH track AS (
    SELECT ST_SetSRID(ST_MakeLine(ARRAY(
               SELECT ST_MakePoint((p->>0)::float8, (p->>1)::float8)
                 FROM json_array_elements(CAST(:points AS json)) WITH ORDINALITY AS e(p, n)
                ORDER BY n)), 4326) AS geom
), ahead AS (
    SELECT greatest(CAST(:ended_at AS timestamptz) - now(), interval '0') AS by
)
INSERT INTO patrol (client_id, account_id, started_at, ended_at, track, length_m, note)
SELECT :client_id, :account, CAST(:started_at AS timestamptz) - by,
       CAST(:ended_at AS timestamptz) - by, geom, ST_Length(geom::geography), :note
  FROM track, ahead
ON CONFLICT (client_id) DO NOTHING
RETURNING id
""")

# The grids in force when it ended that the track passed through or touched, and how far it
# went in each.
_GRIDS_WALKED = text("""
INSERT INTO patrol_grid (patrol_id, grid_id, length_m)
SELECT p.id, gv.grid_id, ST_Length(ST_Intersection(p.track, gv.geom)::geography)
  FROM patrol p JOIN grid_version gv ON ST_Intersects(gv.geom, p.track)
   AND gv.valid_from <= p.ended_at AND (gv.valid_to IS NULL OR gv.valid_to > p.ended_at)
 WHERE p.id = :id
""")

_FEATURE = f"""
SELECT -extract(epoch FROM p.ended_at) AS sort, json_build_object(
    'type', 'Feature', 'id', p.id,
    'geometry', ST_AsGeoJSON(p.track, 7)::json,
    'properties', json_build_object(
        'client_id', p.client_id, 'worker', {WORKER_NAME},
        'started_at', p.started_at, 'ended_at', p.ended_at, 'received_at', p.received_at,
        'length_m', round(p.length_m::numeric, 1), 'points', ST_NPoints(p.track), 'note', p.note,
        'grids', (SELECT coalesce(json_agg(json_build_object(
                                      'code', g.code, 'name', g.name,
                                      'length_m', round(pg.length_m::numeric, 1))
                                  ORDER BY pg.length_m DESC, g.code), '[]')
                    FROM patrol_grid pg JOIN grid g ON g.id = pg.grid_id
                   WHERE pg.patrol_id = p.id))) AS feature
  FROM patrol p JOIN account a ON a.id = p.account_id
 WHERE {{where}}
 ORDER BY p.ended_at DESC, p.id DESC {{page}}
"""

PATROLLERS = frozenset({Role.grid_worker, Role.grid_chief})
_THROUGH = ("EXISTS (SELECT 1 FROM patrol_grid pg JOIN grid g ON g.id = pg.grid_id "
            "WHERE pg.patrol_id = p.id AND {condition})")


def patrol_scope_key(account: Account) -> tuple:
    """What of the account ``patrol_filters`` reads: accounts alike in it read the same
    patrols."""
    return (account.role, account.region_code, account.grid_ids,
            account.id if account.role in PATROLLERS else None)


def _scope(account: Account, f: Filters) -> None:
    """The patrols ``account`` may read (see the module), ``p`` the patrol."""
    if account.role is Role.admin or (account.role is Role.command
                                      and account.region_code is None):
        return
    if account.role is Role.command:
        f.add(_THROUGH.format(condition=f.code_prefix("g.village_code", "scope_region",
                                                       account.region_code)))
    elif account.role is Role.grid_chief:
        f.add(f"(p.account_id = :scope_me OR "
              f"{_THROUGH.format(condition='pg.grid_id = ANY(:scope_grids)')})",
              scope_me=account.id, scope_grids=list(account.grid_ids))
    elif account.role is Role.grid_worker:
        f.add("p.account_id = :scope_me", scope_me=account.id)
    else:
        f.add("false")


def patrol_filters(account: Account, since: datetime | str | None = None,
                   until: datetime | str | None = None) -> Filters:
    """The patrols ``account`` may read that ended in [since, until) (either open), ``p`` the
    patrol: the list's and the tiles' filters."""
    f = Filters()
    _scope(account, f)
    if since is not None:
        f.add("p.ended_at >= CAST(:since AS timestamptz)", since=since)
    if until is not None:
        f.add("p.ended_at < CAST(:until AS timestamptz)", until=until)
    return f


async def patrols_geojson(conn: AsyncConnection, account: Account, *,
                          since: datetime | None = None, until: datetime | None = None,
                          received_since: datetime | None = None,
                          grid: str | None = None, region: str | None = None,
                          bbox: tuple[float, float, float, float] | None = None,
                          ids: list[int] | None = None, limit: int = 100, offset: int = 0) -> str:
    """The patrols ``account`` may read that ended in [since, until), that came to the service
    from ``received_since``, that passed through ``grid`` or through ``region`` (a region's
    code), whose track meets ``bbox``, or those of ``ids``: a FeatureCollection of their
    tracks, the latest first."""
    f = patrol_filters(account, since, until)
    if received_since is not None:
        f.add("p.received_at >= :received_since", received_since=received_since)
    if grid:
        f.add(_THROUGH.format(condition="g.code = :grid"), grid=grid)
    if region:
        f.add(_THROUGH.format(condition=f.code_prefix("g.village_code", "region", region)))
    f.bbox("p.track", bbox)
    if ids is not None:
        f.add("p.id = ANY(:ids)", ids=ids)
    sql = feature_collection(_FEATURE.format(where=f.where(), page=page(limit, offset)))
    return (await conn.execute(text(sql), f.params)).scalar_one()


async def record_patrol(conn: AsyncConnection, account: Account, *, client_id: UUID,
                        started_at: datetime, ended_at: datetime,
                        points: list[tuple[float, float]], note: str = "") -> tuple[dict, bool]:
    """Store a patrol walked by ``account`` (its points in WGS84, in the order walked) with the
    grids it passed through; the same patrol sent again is the one stored. Returns it (a
    GeoJSON Feature) and whether it is new."""
    stored = (await conn.execute(_STORE, {
        "client_id": client_id, "account": account.id, "started_at": started_at,
        "ended_at": ended_at, "points": json.dumps(points), "note": note})).scalar_one_or_none()
    created = stored is not None
    if created:  # announced with the steps of cases, to the pages following the live feed
        await conn.execute(_GRIDS_WALKED, {"id": stored})
        await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {
            "channel": NOTIFY_CHANNEL, "payload": json.dumps({"patrol": stored})})
    else:
        stored = (await conn.execute(text(
            "SELECT id FROM patrol WHERE client_id = :client_id AND account_id = :account"),
            {"client_id": client_id, "account": account.id})).scalar_one_or_none()
        if stored is None:
            raise Conflict(f"client_id {client_id} names another account's patrol",
                           field="client_id")
    walked = json.loads(await patrols_geojson(conn, account, ids=[stored], limit=1))
    return walked["features"][0], created


# How many whole days a grid has gone unpatrolled, from its row ``f`` of grid_figures
# (migration 0036); none for a grid never patrolled. Now is worked out once a statement.
DAYS_UNPATROLLED = "((SELECT visit_second(now())) - f.last_patrol) / 86400"

# The grids in force of a region (or of a grid worker's or chief's grids) and those not walked
# through since a time, by the last patrol each keeps (migration 0036). The longest unpatrolled
# first (never, then the longest ago), up to WORST, with when their last patrol ended.
WORST = 20
_COVERAGE = """
WITH grids AS MATERIALIZED (
    SELECT g.id, g.code, g.name, f.last_patrol,
           coalesce(f.last_patrol >= visit_second(CAST(:since AS timestamptz)), false) AS walked
      FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
      LEFT JOIN grid_figures f ON f.grid_id = g.id
     WHERE {where}
), longest AS (
    SELECT s.code, s.name, (SELECT max(p.ended_at) FROM patrol_grid pg
                              JOIN patrol p ON p.id = pg.patrol_id
                             WHERE pg.grid_id = s.id) AS last_patrolled
      FROM grids s WHERE NOT s.walked ORDER BY s.last_patrol NULLS FIRST, s.code LIMIT {worst}
)
SELECT (SELECT count(*) FROM grids) AS grids,
       (SELECT count(*) FROM grids WHERE NOT walked) AS unpatrolled,
       (SELECT coalesce(json_agg(l ORDER BY l.last_patrolled NULLS FIRST, l.code), '[]')
          FROM longest l) AS longest
"""


async def patrol_coverage(conn: AsyncConnection, account: Account, since: datetime,
                          region: str | None = None, *, worst: int = WORST) -> dict:
    """How many grids of ``region`` (a county's, township's or village's code; by default the
    account's whole scope) no patrol passed through since ``since``, and the ``worst`` longest
    unpatrolled of them with when each was last patrolled (none: the counts alone). A region
    outside the account's is not found."""
    f = Filters(params={"since": since})
    registry_scope(account, f, alias="g", grid_column="id", people=False)
    if region is not None:
        if not account.covers(region):
            raise NotFound(f"no region {region!r} in your region", field="region")
        f.add(f.code_prefix("g.village_code", "region", region))
    row = (await conn.execute(text(_COVERAGE.format(where=f.where(), worst=int(worst))),
                              f.params)).one()
    return {"since": since.isoformat(), "grids": row.grids, "unpatrolled": row.unpatrolled,
            "longest_unpatrolled": row.longest}


async def erase_old_tracks(conn: AsyncConnection) -> int:
    """Erase the tracks of the patrols that ended longer ago than the privacy settings' days
    (the grids they passed through stay); how many."""
    erased = await conn.execute(text(
        "UPDATE patrol SET track = NULL WHERE track IS NOT NULL "
        "AND ended_at < now() - make_interval(days => :days)"),
        {"days": settings.privacy().track_days})
    return erased.rowcount
