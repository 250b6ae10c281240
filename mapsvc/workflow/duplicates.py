"""Duplicates: open cases of the same category near a new one, reported around the same time.

The radius and time window are per category (its properties ``duplicate_radius_m`` and
``duplicate_hours``, inherited from the nearest ancestor that sets them), else 50 m and 72 h.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.workflow.machine import OPEN

RADIUS_M, WINDOW_H = 50, 72

_SUGGEST = text(f"""
WITH RECURSIVE new AS (SELECT * FROM incident WHERE id = :id),
up AS (
    SELECT c.code, c.parent_code, c.properties, 0 AS depth
      FROM new JOIN category c ON c.code = new.category_code
    UNION ALL
    SELECT c.code, c.parent_code, c.properties, up.depth + 1
      FROM up JOIN category c ON c.code = up.parent_code
),
rule AS (
    SELECT coalesce((SELECT (properties->>'duplicate_radius_m')::float8 FROM up
                      WHERE properties ? 'duplicate_radius_m' ORDER BY depth LIMIT 1),
                    {RADIUS_M}) AS radius_m,
           coalesce((SELECT (properties->>'duplicate_hours')::float8 FROM up
                      WHERE properties ? 'duplicate_hours' ORDER BY depth LIMIT 1),
                    {WINDOW_H}) AS hours
)
SELECT o.id, round(ST_Distance(o.geom::geography, new.geom::geography)::numeric, 1) AS distance_m
  FROM new, rule, incident o
 WHERE o.id <> new.id AND o.category_code = new.category_code
   AND o.status IN ({", ".join(f"'{s}'" for s in OPEN)})
   AND ST_DWithin(o.geom, new.geom, rule.radius_m / 50000.0)  -- a box that holds the circle below 60°
   AND ST_DWithin(o.geom::geography, new.geom::geography, rule.radius_m)
   AND abs(extract(epoch FROM o.reported_at - new.reported_at)) <= rule.hours * 3600
 ORDER BY ST_Distance(o.geom::geography, new.geom::geography), o.id
 LIMIT 5
""")


async def suggest_duplicates(conn: AsyncConnection, incident_id: int) -> list[dict]:
    rows = (await conn.execute(_SUGGEST, {"id": incident_id})).mappings().all()
    return [{"id": r["id"], "distance_m": float(r["distance_m"])} for r in rows]
