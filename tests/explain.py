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
    # written in, each % doubled as the driver reads a statement's % as a placeholder's
    arguments = (f"({', '.join(repr(params[n]).replace('%', '%%') for n in names)})"
                 if names else "")
    plan = (await conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained{arguments}")).scalar_one()
    await conn.exec_driver_sql("DEALLOCATE explained")
    return plan[0]["Plan"]


def rows_handled(node: dict, relation: str | None = None) -> int:
    """The rows a plan node and those under it produced or filtered away, over all their loops;
    given a ``relation``, only those of the nodes scanning it (the cases a list reads, say, not
    the rows of what each case's document joins)."""
    own = 0
    if relation is None or node.get("Relation Name") == relation:
        own = node["Actual Rows"] * node["Actual Loops"] + sum(
            node.get(k, 0) for k in ("Rows Removed by Filter", "Rows Removed by Join Filter"))
    return own + sum(rows_handled(child, relation) for child in node.get("Plans", []))
