"""Plans of statements as the service runs them: prepared, with generic plans."""

import re

from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.db.reads import psycopg_sql


async def generic_plan(conn: AsyncConnection, sql: str, params: dict) -> dict:
    """EXPLAIN ANALYZE of ``sql`` (with :name parameters) prepared with a generic plan, as the
    service's connections run it; the plan's top node."""
    statement = psycopg_sql(sql)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql("PREPARE explained AS " + re.sub(
        r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement))
    arguments = f"({', '.join(repr(params[n]) for n in names)})" if names else ""
    plan = (await conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained{arguments}")).scalar_one()
    await conn.exec_driver_sql("DEALLOCATE explained")
    return plan[0]["Plan"]


def rows_handled(node: dict) -> int:
    """The rows a plan node and those under it produced or filtered away, over all its loops."""
    own = node["Actual Rows"] * node["Actual Loops"] + sum(
        node.get(k, 0) for k in ("Rows Removed by Filter", "Rows Removed by Join Filter"))
    return own + sum(rows_handled(child) for child in node.get("Plans", []))


def cases_read(node: dict) -> int:
    """The rows the plan's scans of incidents produced or filtered away, over all their loops
    (not the rows of what a case's document joins, its grid and regions)."""
    own = 0
    if node.get("Relation Name") == "incident":
        own = node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
    return own + sum(cases_read(child) for child in node.get("Plans", []))
