"""Write a level of the hierarchy to a GeoPackage or GeoJSON file that imports back unchanged."""

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

FORMATS = {"gpkg": "GPKG", "geojson": "GeoJSON"}

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


async def export_level(conn: AsyncConnection, level: str, out: Path, fmt: str) -> int:
    rows = (await (conn.execute(GRIDS) if level == "grid"
                   else conn.execute(REGIONS, {"level": level}))).mappings().all()
    columns = [c for c in (rows[0].keys() if rows else ()) if c != "wkb"]
    frame = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
    # other properties travel as one JSON text field, so each keeps its JSON type
    frame["properties"] = [json.dumps(r["properties"], ensure_ascii=False) if r["properties"]
                           else None for r in rows]
    if level == "grid":
        numbers = ["households", "population", "organisation_id"]
        frame[numbers] = frame[numbers].astype("Int64")
    geoms = shapely.from_wkb([r["wkb"] for r in rows])
    out.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(frame, geometry=geoms, crs=4326).to_file(
        out, driver=FORMATS[fmt], engine="pyogrio", layer=level)
    return len(rows)
