"""Proposed grids for a village, drawn from where its households live.

The registered households' address points are split into balanced groups by recursive
bisection (each cut across the longer side, in metres, at the household count that shares the
remaining grids out evenly), so the groups are compact and none holds more than the limit. Each
group's grid is the union of its addresses' Voronoi cells, cut to the village: together they
cover the village exactly. New grids keep the code of the live grid they overlap most; the
proposal is a draft plan for the planner to edit.
"""

import math

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account
from mapsvc.boundaries.plans import (HOMES_IN, INSERT_NEW, check_planner, create_plan,
                                    load_plan, next_codes)
from mapsvc.errors import InvalidInput

# The village's homes (HOMES_IN).
HOMES = text(f"""
SELECT homes.* FROM region v, LATERAL ({HOMES_IN.format(area="v.geom")}) AS homes
 WHERE v.code = :village AND v.level = 'village'
 ORDER BY 1, 2
""")

# Each group's grid: its points' Voronoi cells (over the village's surroundings), unioned and
# cut to the village.
CELLS = text("""
WITH v AS (SELECT geom FROM region WHERE code = :village),
pts AS (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom, grp
          FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[]), CAST(:grp AS int[]))
               t(x, y, grp)),
cells AS (SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(pts.geom), 0,
                                             ST_Expand((SELECT geom FROM v), 0.01)))).geom
            FROM pts),
grouped AS (SELECT pts.grp, ST_Union(cells.geom) AS geom
              FROM cells JOIN pts ON ST_Intersects(cells.geom, pts.geom) GROUP BY pts.grp),
drawn AS (SELECT grp, ST_Multi(ST_CollectionExtract(ST_Intersection(g.geom, v.geom), 3)) AS geom
            FROM grouped g, v)
SELECT d.grp, ST_AsBinary(d.geom) AS wkb,
       (SELECT json_object_agg(g.code, ST_Area(ST_Intersection(d.geom, gv.geom)))
          FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE g.village_code = :village AND gv.geom && d.geom) AS overlaps
  FROM drawn d ORDER BY d.grp
""")


def balanced_groups(x: np.ndarray, y: np.ndarray, weight: np.ndarray, limit: int) -> np.ndarray:
    """A group number per point: compact groups of total weight at most ``limit`` each, as
    few as the weights allow (every single weight must be within the limit)."""
    # metres east and north, near enough over a village
    east = x * 111_320 * math.cos(math.radians(float(np.mean(y))))
    north = y * 110_540
    xy = np.column_stack([east, north])
    groups = np.zeros(len(weight), dtype=int)

    def bisect(idx: np.ndarray, k: int, first: int) -> None:
        if k <= 1:
            groups[idx] = first
            return
        left_k = k // 2
        spread = xy[idx].max(axis=0) - xy[idx].min(axis=0)
        order = idx[np.argsort(xy[idx, int(spread[1] > spread[0])], kind="stable")]
        running = np.cumsum(weight[order])
        cut = int(np.argmin(np.abs(running - running[-1] * left_k / k))) + 1
        # each side keeps at least a point per grid it is to make
        cut = min(max(cut, left_k), len(order) - (k - left_k))
        bisect(order[:cut], left_k, first)
        bisect(order[cut:], k - left_k, first + left_k)

    k = min(math.ceil(weight.sum() / limit), len(weight))
    while True:
        bisect(np.arange(len(weight)), k, 0)
        if np.bincount(groups, weights=weight).max() <= limit or k >= len(weight):
            return groups
        k += 1


async def propose(conn: AsyncConnection, account: Account, village: str, max_households: int,
                  name: str | None = None) -> int:
    """A draft plan re-dividing ``village`` into grids of at most ``max_households``."""
    check_planner(account, [village])
    if max_households < 1:
        raise InvalidInput("must be at least 1", field="max_households")
    homes = (await conn.execute(HOMES, {"village": village})).all()
    if not homes:
        raise InvalidInput(f"village {village} has no registered households to divide "
                           "(or no such village)", field="village")
    x, y, weight = (np.array(column, dtype=float) for column in zip(*homes))
    if weight.max() > max_households:
        raise InvalidInput(f"one address holds {int(weight.max())} households, more than "
                           f"{max_households}", field="max_households")
    groups = balanced_groups(x, y, weight, max_households)
    drawn = (await conn.execute(CELLS, {"village": village, "x": x.tolist(), "y": y.tolist(),
                                        "grp": groups.tolist()})).all()
    village_name = (await conn.execute(text("SELECT name FROM region WHERE code = :v"),
                                       {"v": village})).scalar_one()
    plan_id = await create_plan(conn, account, name or f"{village_name}网格划分建议"
                                f"（每格不超过{max_households}户）", [village])
    plan = await load_plan(conn, account, plan_id, draft=True)
    codes = _keep_codes([row.overlaps or {} for row in drawn])
    await conn.execute(text("DELETE FROM plan_grid WHERE plan_id = :p"), {"p": plan_id})
    fresh = iter(await next_codes(conn, plan, village, codes.count(None)))
    await conn.execute(text(INSERT_NEW), {
        "p": plan_id, "kind": "comprehensive", "village": village,
        "codes": [code or next(fresh) for code in codes], "wkbs": [row.wkb for row in drawn]})
    return plan_id


def _keep_codes(overlaps: list[dict]) -> list[str | None]:
    """For each new grid, the live grid code it takes over (largest overlaps first, each code
    once), or None for a new code."""
    pairs = sorted(((area, i, code) for i, found in enumerate(overlaps)
                    for code, area in found.items() if area > 0), reverse=True)
    taken: dict[int, str] = {}
    used: set[str] = set()
    for _, i, code in pairs:
        if i not in taken and code not in used:
            taken[i] = code
            used.add(code)
    return [taken.get(i) for i in range(len(overlaps))]
