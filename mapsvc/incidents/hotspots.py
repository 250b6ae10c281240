"""Hot spots (高发点位): the places where cases of one class keep being reported, for a centre
to deal with the cause rather than the cases one by one.

A hot spot is a cluster of the cases of one class (DBSCAN, ST_ClusterDBSCAN): at its core, a
case with at least ``least`` cases of its class (itself counted) within ``radius_m`` metres,
and every case within that reach of a core case. Void and rejected cases are not counted (no
problem, or another case's repeat); the others are, open or closed, as a place keeps its
problem once one case of it is closed.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.geojson import feature_collection, page
from mapsvc.incidents.queries import IncidentFilter
from mapsvc.workflow.machine import OPEN_SQL

IDS = 20  # the newest cases of a hot spot named in it
RADIUS_M = 50  # unless asked otherwise: cases this near one another,
LEAST = 3  # and at least so many of them

# Distances are worked out on the plane touching the earth at the cases' mean latitude
# (metres east and north), which over a city's extent is within a few parts in a thousand.
HOTSPOTS = f"""
WITH found AS MATERIALIZED (
    SELECT d.id, d.category_code, d.status, d.reported_at, d.grid_id, d.geom
      FROM incident d
     WHERE {{where}} AND d.status NOT IN ('void', 'rejected')
), flat AS (
    SELECT f.*, ST_MakePoint(ST_X(f.geom) * 111320 * s.k, ST_Y(f.geom) * 110760) AS xy
      FROM found f, (SELECT cosd(avg(ST_Y(geom))) AS k FROM found) s
), clustered AS (
    SELECT flat.*, ST_ClusterDBSCAN(xy, eps := CAST(:radius_m AS float8), minpoints := :least)
                     OVER (PARTITION BY category_code) AS spot
      FROM flat
), spots AS (
    SELECT category_code, count(*) AS cases,
           count(*) FILTER (WHERE status IN {OPEN_SQL}) AS open,
           min(reported_at) AS first_reported_at, max(reported_at) AS last_reported_at,
           ST_Centroid(ST_Collect(geom)) AS centre,
           ST_MaxDistance(ST_Centroid(ST_Collect(xy)), ST_Collect(xy)) AS radius_m,
           (array_agg(id ORDER BY id DESC))[1:{IDS}] AS ids,
           mode() WITHIN GROUP (ORDER BY grid_id) AS grid_id
      FROM clustered WHERE spot IS NOT NULL
     GROUP BY category_code, spot
), ranked AS (
    SELECT s.*, row_number() OVER (ORDER BY cases DESC, last_reported_at DESC) AS rank
      FROM spots s
)
SELECT r.rank AS sort, json_build_object(
         'type', 'Feature', 'geometry', ST_AsGeoJSON(r.centre, 7)::json,
         'properties', json_build_object(
           'category', r.category_code, 'cases', r.cases, 'open', r.open,
           'first_reported_at', r.first_reported_at, 'last_reported_at', r.last_reported_at,
           'radius_m', round(r.radius_m), 'ids', r.ids,
           'grid', CASE WHEN g.id IS NOT NULL
                        THEN json_build_object('code', g.code, 'name', g.name) END,
           'township', CASE WHEN t.code IS NOT NULL
                            THEN json_build_object('code', t.code, 'name', t.name) END,
           'county', CASE WHEN c.code IS NOT NULL
                          THEN json_build_object('code', c.code, 'name', c.name) END)) AS feature
  FROM ranked r LEFT JOIN grid g ON g.id = r.grid_id
  LEFT JOIN region v ON v.code = g.village_code
  LEFT JOIN region t ON t.code = v.parent_code
  LEFT JOIN region c ON c.code = t.parent_code
 ORDER BY r.rank {{page}}
"""


async def hotspots_geojson(conn: AsyncConnection, where: IncidentFilter, account: Account, *,
                           radius_m: float, least: int, limit: int = 100,
                           offset: int = 0) -> str:
    """The hot spots among the cases matching ``where`` within ``account``'s jurisdiction, as
    a FeatureCollection of their centres, those of the most cases first."""
    f = where.filters()
    incident_scope(account, f)
    sql = feature_collection(HOTSPOTS.format(where=f.where(), page=page(limit, offset)))
    return (await conn.execute(text(sql), {**f.params, "radius_m": radius_m,
                                           "least": least})).scalar_one()
