"""Cases that may repeat one another (重复上报): of the same class, within the class's radius
and hours of each other (``duplicate_radius_m`` and ``duplicate_hours``, the nearest class up
its chain that sets them, else 50 m and 72 h), nearest first, at most five. A report is
answered with the open cases it may repeat (mapsvc.incidents.intake), and a case opened at the
desk lists them, to be merged."""

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account
from mapsvc.incidents.queries import IncidentFilter, incidents_geojson, readable
from mapsvc.workflow.machine import OPEN_SQL

NEAREST = 5


def duplicate_rule(categories: str) -> str:
    """The CTE ``duplicate_rule`` (category, radius_m, hours) of the classes ``categories``
    (a statement answering class codes), worked out once (MATERIALIZED: inlined, it was worked
    out again for each case)."""
    return f"""duplicate_rule AS MATERIALIZED (
    WITH RECURSIVE up AS (
        SELECT c.code AS category, c.parent_code, c.properties, 0 AS depth
          FROM category c WHERE c.code IN ({categories})
        UNION ALL
        SELECT up.category, c.parent_code, c.properties, up.depth + 1
          FROM up JOIN category c ON c.code = up.parent_code
    )
    SELECT category,
           coalesce((array_agg((properties->>'duplicate_radius_m')::float8 ORDER BY depth)
                     FILTER (WHERE properties ? 'duplicate_radius_m'))[1], 50) AS radius_m,
           coalesce((array_agg((properties->>'duplicate_hours')::float8 ORDER BY depth)
                     FILTER (WHERE properties ? 'duplicate_hours'))[1], 72) AS hours
      FROM up GROUP BY category
)"""


def nearby(case: str) -> str:
    """A lateral join giving ``near.cases``: the open cases the row ``case`` may repeat, a JSON
    array of ``{id, distance_m}``, nearest first, each found through the index on incidents'
    points (needs ``duplicate_rule``)."""
    return f"""CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('id', n.id, 'distance_m', n.d)
                             ORDER BY n.d, n.id), '[]') AS cases
      FROM (SELECT o.id,
                   round(ST_Distance(o.geom::geography, {case}.geom::geography)::numeric, 1) AS d
              FROM duplicate_rule r, incident o
             WHERE r.category = {case}.category_code AND o.category_code = {case}.category_code
               AND o.status IN {OPEN_SQL} AND o.id <> {case}.id
               -- for the index, a box holding the circle (every longitude at a pole): a
               -- degree of latitude is over 110 km, one of longitude over 111 km times the
               -- latitude's cosine
               AND o.geom && ST_Expand(
                   {case}.geom,
                   least(360, r.radius_m / greatest(111000 * cosd(ST_Y({case}.geom)), 1e-9)),
                   r.radius_m / 110000)
               AND ST_DWithin(o.geom::geography, {case}.geom::geography, r.radius_m)
               AND abs(extract(epoch FROM o.reported_at - {case}.reported_at)) <= r.hours * 3600
             ORDER BY d, o.id
             LIMIT {NEAREST}) n
  ) near"""


_OF_A_CASE = text(f"""
WITH {duplicate_rule("SELECT category_code FROM incident WHERE id = :id")}
SELECT near.cases FROM incident me {nearby("me")} WHERE me.id = :id
""")


async def possible_duplicates(conn: AsyncConnection, incident_id: int,
                              account: Account) -> dict:
    """The open cases the incident may repeat, among those the account may read: a
    FeatureCollection of the list's features, nearest first, each with its ``distance_m``.
    Not found outside the account's jurisdiction."""
    await readable(conn, incident_id, account)
    near = {n["id"]: n["distance_m"]
            for n in (await conn.execute(_OF_A_CASE, {"id": incident_id})).scalar_one()}
    features = json.loads(await incidents_geojson(conn, IncidentFilter(ids=list(near)), account,
                                                  limit=NEAREST))["features"]
    for feature in features:
        feature["properties"]["distance_m"] = near[feature["id"]]
    return {"type": "FeatureCollection",
            "features": sorted(features, key=lambda f: (near[f["id"]], f["id"]))}
