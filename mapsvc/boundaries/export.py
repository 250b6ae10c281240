"""Write a level of the hierarchy, or a plan's draft, to a GeoPackage or GeoJSON file that
imports back unchanged (``mapsvc boundaries import``, a plan's layer)."""

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Result, text
from sqlalchemy.ext.asyncio import AsyncConnection

FORMATS = {"gpkg": "GPKG", "geojson": "GeoJSON"}
MEDIA_TYPES = {"gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json"}

REGIONS = text("""
SELECT code, name, parent_code, properties, ST_AsBinary(geom) AS wkb
  FROM region WHERE level = :level ORDER BY code
""")
GRIDS = text("""
SELECT g.code, g.name, g.village_code AS parent_code, g.kind, g.households, g.population,
       g.organisation_id,
       g.properties, ST_AsBinary(gv.geom) AS wkb
  FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
 ORDER BY g.code
""")


# A plan's draft as its layer is put back (mapsvc.boundaries.plans.load_layer): what each
# grid is drafted as; the rest of a grid's record stays the live grid's.
PLAN_LAYER = text("""
SELECT code, name, village_code AS parent_code, kind, households, population,
       ST_AsBinary(geom) AS wkb
  FROM plan_grid WHERE plan_id = :plan ORDER BY code
""")
_NUMBERS = ("households", "population", "organisation_id")


async def export_level(conn: AsyncConnection, level: str, out: Path, fmt: str) -> int:
    return _written(await (conn.execute(GRIDS) if level == "grid"
                           else conn.execute(REGIONS, {"level": level})), out, fmt, level)


async def export_plan(conn: AsyncConnection, plan_id: int, out: Path, fmt: str) -> int:
    """The draft of plan ``plan_id``: a layer of grids to edit (in QGIS, say) and put back."""
    return _written(await conn.execute(PLAN_LAYER, {"plan": plan_id}), out, fmt, "grid")


def _written(result: Result, out: Path, fmt: str, layer: str) -> int:
    """The rows of ``result`` written as ``layer`` of a file (its columns, an empty layer's
    too; ``wkb`` the geometry)."""
    columns = [c for c in result.keys() if c != "wkb"]
    rows = result.mappings().all()
    frame = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
    if "properties" in frame:
        # other properties travel as one JSON text field, so each keeps its JSON type
        frame["properties"] = [json.dumps(r["properties"], ensure_ascii=False)
                               if r["properties"] else None for r in rows]
    for column in _NUMBERS:
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    geoms = shapely.from_wkb([r["wkb"] for r in rows])
    out.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(frame, geometry=geoms, crs=4326).to_file(
        out, driver=FORMATS[fmt], engine="pyogrio", layer=layer)
    return len(rows)
