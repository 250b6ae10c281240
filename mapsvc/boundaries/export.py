"""Write a level of the hierarchy to a GeoPackage or GeoJSON file that imports back unchanged."""

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
       g.properties, ST_AsBinary(gv.geom) AS wkb
  FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
 ORDER BY g.code
""")


async def export_level(conn: AsyncConnection, level: str, out: Path, fmt: str) -> int:
    rows = (await (conn.execute(GRIDS) if level == "grid"
                   else conn.execute(REGIONS, {"level": level}))).mappings().all()
    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in ("properties", "wkb")}
                          for r in rows])
    extra = pd.DataFrame([r["properties"] for r in rows], index=frame.index)
    frame = pd.concat([frame, extra[[c for c in extra.columns if c not in frame.columns]]], axis=1)
    if level == "grid":
        frame[["households", "population"]] = frame[["households", "population"]].astype("Int64")
    geoms = shapely.from_wkb([r["wkb"] for r in rows])
    out.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(frame, geometry=geoms, crs=4326).to_file(
        out, driver=FORMATS[fmt], engine="pyogrio", layer=level)
    return len(rows)
