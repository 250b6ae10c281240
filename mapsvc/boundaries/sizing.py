"""The grids in force against the sizing rules (MAPSVC_PLANS_SIZING): where a planner has
grids to redraw, counted per region and listed grid by grid.

A grid's households and people are those of the registry a plan's validation counts (the
households at the addresses in the grid, and their members who have not left), as each grid's
figures keep them (migrations 0016, 0056). A grid of a village whose registry is not loaded (no
address registered in it) is ``no_registry``, not under its minimum: nothing is known of it. A
grid of a kind and setting no rule names is ``no_rule``.
"""

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import Account
from mapsvc.errors import Forbidden, NotFound
from mapsvc.geojson import Filters

SIZES = ("over", "under", "ok", "no_rule", "no_registry")

# urban or rural: the village's (``v``) own ``setting`` property, else its code (GB/T 10114
# practice: 001–199 residents' committees, 200 and above villagers' committees)
SETTING = """CASE WHEN v.properties->>'setting' IN ('urban', 'rural') THEN v.properties->>'setting'
                  WHEN substr(v.code, 10, 3) ~ '^[0-9]{3}$' AND substr(v.code, 10, 3)::int < 200
                      THEN 'urban' ELSE 'rural' END"""

# whether a village's (``v``) registry is loaded: without it nothing is known of its grids' sizes
REGISTERED = "EXISTS (SELECT 1 FROM address a WHERE a.village_code = v.code)"

# Each sizing rule a grid (``s``: its households, population and rule) may break, a row each,
# ``broken`` true where it does: over a maximum an error, under a minimum a warning.
SIZE_CHECKS = """LATERAL (VALUES
      ('households_over', 'error', 'households', 'over', 'maximum', s.households,
       (s.rule->>'households_max')::int, s.households > (s.rule->>'households_max')::int),
      ('population_over', 'error', 'people', 'over', 'maximum', s.population,
       (s.rule->>'population_max')::int, s.population > (s.rule->>'population_max')::int),
      ('households_under', 'warning', 'households', 'under', 'minimum', s.households,
       (s.rule->>'households_min')::int, s.households < (s.rule->>'households_min')::int)
  ) c(kind, severity, what, side, bound_name, value, bound, broken)"""

# a grid's size from the severest rule it breaks
SIZE = "CASE min(c.severity) WHEN 'error' THEN 'over' WHEN 'warning' THEN 'under' END"


def sizing_rules() -> str:
    """The rules as the statements take them: JSON keyed ``kind/setting``."""
    return json.dumps({key: rule.model_dump(exclude_none=True)
                       for key, rule in settings.plans().sizing.items()})


_COUNTS = ", ".join([
    "count(*) AS grids",
    *(f"count(*) FILTER (WHERE size = '{size}') AS {size}" for size in SIZES),
    "coalesce(sum(households), 0) AS households", "coalesce(sum(population), 0) AS population"])

# how far a grid is over its rule: its largest count against that count's maximum
_EXCESS = """greatest(households::float8 / nullif((rule->>'households_max')::int, 0),
                      population::float8 / nullif((rule->>'population_max')::int, 0))"""

_SIZED = f"""
WITH villages AS MATERIALIZED (  -- each village's setting, registry and part, worked out once
    SELECT v.code, v.name, {{setting}} AS setting,
           {REGISTERED} AS registered, {{part}} AS part
      FROM region v
     WHERE v.level = 'village' AND {{where}}
), grids AS (
    SELECT g.id, g.code, g.name, g.kind, g.village_code, v.name AS village, v.setting,
           v.registered, v.part
      FROM villages v
      JOIN grid g ON g.village_code = v.code
      JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
), sizes AS MATERIALIZED (
    SELECT grids.*, coalesce(f.households, 0) AS households,
           coalesce(f.population, 0) AS population,
           CAST(:rules AS jsonb) -> (grids.kind || '/' || grids.setting) AS rule
      FROM grids LEFT JOIN grid_figures f ON f.grid_id = grids.id
), verdicts AS MATERIALIZED (
    SELECT s.*, CASE WHEN NOT s.registered THEN 'no_registry' WHEN s.rule IS NULL THEN 'no_rule'
                     ELSE coalesce(v.size, 'ok') END AS size
      FROM sizes s, LATERAL (SELECT {SIZE} AS size FROM {SIZE_CHECKS} WHERE c.broken) v
)"""

_SIZING = f""", listed AS (
    SELECT * FROM verdicts WHERE {{listed}} ORDER BY {{order}}, code LIMIT 50
)
SELECT json_build_object(
    'totals', (SELECT row_to_json(t) FROM (SELECT {_COUNTS} FROM verdicts) t),
    'parts', (SELECT coalesce(json_agg(p ORDER BY p.code), '[]') FROM (
        SELECT r.code, r.name, r.level, {_COUNTS}
          FROM verdicts JOIN region r ON r.code = verdicts.part
         GROUP BY r.code) p),
    'grids', (SELECT coalesce(json_agg(json_build_object(
        'code', code, 'name', name, 'kind', kind, 'village_code', village_code,
        'village', village, 'setting', setting, 'households', households,
        'population', population, 'rule', rule, 'size', size)
        ORDER BY {{order}}, code), '[]') FROM listed))
"""


def sized_grids(parent: str | None, part: str = "NULL::text") -> tuple[str, dict]:
    """The opening of a statement, ``WITH … verdicts``: each grid in force under ``parent``
    (every grid without one) with its village (``village``), ``setting``, ``households``,
    ``population``, ``rule`` and ``size``, and ``part``, an expression on its village ``v``
    (the region it is counted in); and the parameters the opening takes."""
    f = Filters(params={"rules": sizing_rules()})
    if parent:
        f.add(f.code_prefix("v.code", "parent", parent))
    return _SIZED.format(where=f.where(), part=part, setting=SETTING), f.params


async def grid_sizing(conn: AsyncConnection, account: Account, parent: str | None) -> dict:
    """The grids in force under ``parent`` (default: the account's region, or every county)
    against the sizing rules: ``totals``, ``parts`` (each child region of ``parent``, its grids
    counted by size) and ``grids`` (a village's every grid; above a village, the grids over
    their maximum, the most over first, at most 50)."""
    parent = parent or account.region_code
    if parent and not account.covers(parent):
        raise Forbidden(f"region {parent} lies outside region {account.region_code}",
                        field="parent")
    region = None
    if parent:
        region = (await conn.execute(text(
            "SELECT code, name, level FROM region WHERE code = :code"),
            {"code": parent})).mappings().one_or_none()
        if region is None:
            raise NotFound(f"no region {parent}", field="parent")
    village = region is not None and region["level"] == "village"
    # each village's part: the child region of the parent holding it
    opening, params = sized_grids(parent, "NULL::text" if village else (
        "(SELECT r.code FROM region r WHERE r.parent_code "
        + ("= :parent" if parent else "IS NULL") + " AND v.code LIKE r.code || '%')"))
    sql = opening + _SIZING.format(listed="true" if village else "size = 'over'",
                                   order="code" if village else f"{_EXCESS} DESC NULLS LAST")
    report = (await conn.execute(text(sql), params)).scalar_one()
    return {"parent": dict(region) if region else None, **report}
