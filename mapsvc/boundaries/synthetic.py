"""A deterministic synthetic hierarchy inside the real county polygons, for the demo and benchmarks.

Townships, villages and grids are relaxed Voronoi partitions of their parent polygon. The grids of
a county are then noded together so that neighbours share their edges exactly, and villages and
townships are rebuilt as the unions of their grids: every level covers its parent with no gap and
no overlap.
Names are the real township and village names; every generated feature says ``synthetic``.
"""

import zlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from mapsvc.settings import project_root

DATA = project_root() / "data" / "boundaries"
_LLOYD_ROUNDS = 2
_NODING_GRID = 1e-9


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode()))


def _sample_inside(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found = np.empty((0, 2))
    while len(found) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * n, 64), 2))
        found = np.vstack([found, xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]])
    return found[:n]


def partition(parent: BaseGeometry, n: int, key: str) -> list[BaseGeometry]:
    """Split ``parent`` into ``n`` compact parts (a relaxed Voronoi diagram clipped to it)."""
    if n <= 1:
        return [parent]
    seeds = _sample_inside(parent, n, _rng(key))
    envelope = parent.envelope.buffer(parent.length)
    for _ in range(_LLOYD_ROUNDS + 1):
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                           extend_to=envelope))
        parts = shapely.intersection(cells, parent)
        centroids = shapely.centroid(parts)
        ok = ~shapely.is_empty(centroids)
        seeds[ok] = shapely.get_coordinates(centroids[ok])
    return [p for p in parts if not p.is_empty and p.area > 0]


def tile_exactly(geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    """Make neighbours share their edges exactly: node every boundary together on a 1e-9 degree
    grid (0.1 mm), polygonize, and give each face back to the part it came from. Parts clipped
    separately otherwise differ by rounding where an edge meets a neighbour's vertex."""
    geoms = np.asarray(geoms, dtype=object)
    edges = shapely.union_all(shapely.boundary(geoms), grid_size=_NODING_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    face_idx, owner = shapely.STRtree(geoms).query_nearest(
        shapely.point_on_surface(faces), max_distance=_NODING_GRID * 10, all_matches=False)
    tiled = [shapely.union_all(faces[face_idx[owner == i]]) for i in range(len(geoms))]
    return [t if not t.is_empty else g for t, g in zip(tiled, geoms)]


def _as_multi(geoms: list[BaseGeometry]) -> np.ndarray:
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    polys = parts[shapely.get_type_id(parts) == 3]
    return shapely.multipolygons(polys, indices=index[shapely.get_type_id(parts) == 3])


def _allocate(total: int, weight: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weight`` (largest remainder), at least one each
    (so never fewer than ``len(weight)`` in all)."""
    share = total * weight / weight.sum()
    count = np.maximum(1, np.floor(share)).astype(int)
    short = total - count.sum()
    if short > 0:  # the largest remainders get one more
        count[np.argsort(count - share, kind="stable")[:short]] += 1
    elif short < 0:  # raising small shares to one overshot: the most over-served give one back
        spare = np.flatnonzero(count > 1)
        count[spare[np.argsort(share[spare] - count[spare], kind="stable")[:-short]]] -= 1
    return count


@dataclass
class Hierarchy:
    cities: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame

    def levels(self) -> dict[str, gpd.GeoDataFrame]:
        """Each level's features, from the top down (as they are loaded)."""
        return {"city": self.cities, "county": self.counties, "township": self.townships,
                "village": self.villages, "grid": self.grids}

    def write(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for level, frame in self.levels().items():
            paths[level] = folder / f"{level}.gpkg"
            frame.to_file(paths[level], driver="GPKG", engine="pyogrio")
        return paths


def _frame(rows: list[dict], geoms: list[BaseGeometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=list(_as_multi(geoms)), crs=4326)


def _dissolve(children: gpd.GeoDataFrame, by: str) -> dict[str, BaseGeometry]:
    """The union of the children of each parent (an exact coverage, so a coverage union)."""
    return {code: shapely.coverage_union_all(group.geometry.values)
            for code, group in children.groupby(by)}


def seed_counties() -> gpd.GeoDataFrame:
    counties = gpd.read_file(DATA / "counties.geojson", engine="pyogrio")
    counties = counties[counties["seed"]].rename(columns={"adcode": "code"})
    return counties[["code", "name", "city", "province", "geometry"]].sort_values("code")


def seed_cities(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The real cities (地级市) of ``counties``, each coded by its 4 digits."""
    cities = gpd.read_file(DATA / "cities.geojson", engine="pyogrio")
    cities["code"] = cities["adcode"].str.slice(0, 4)
    cities = cities[cities["code"].isin(counties["code"].str.slice(0, 4))]
    return cities[["code", "name", "province", "geometry"]].sort_values("code")


def generate(grids: int = 5000, counties: list[str] | None = None) -> Hierarchy:
    """Build the hierarchy with about ``grids`` grids over the seed counties (or some of them)."""
    county_frame = seed_counties()
    if counties:
        county_frame = county_frame[county_frame["code"].isin(counties)]
    names = pd.read_csv(DATA / "villages.csv", dtype=str)
    names = names[names["county_adcode"].isin(county_frame["code"])]
    # Communities (社区/居委会) are denser than rural villages and get more grids.
    weight = np.where(names["village"].str.contains("社区|居委会"), 3.0, 1.0)
    grids_of = dict(zip(names["village_code"], _allocate(grids, weight)))

    townships, villages, grid_rows = [], [], []
    for county in county_frame.itertuples():
        county_geom = shapely.union_all(shapely.get_parts(county.geometry))
        towns = names[names["county_adcode"] == county.code].drop_duplicates("township_code")
        county_grids = []
        for town, town_geom in zip(towns.itertuples(),
                                   partition(county_geom, len(towns), county.code)):
            townships.append({"code": town.township_code, "name": town.township,
                              "parent_code": county.code, "synthetic": True})
            vills = names[names["township_code"] == town.township_code]
            for vill, vill_geom in zip(vills.itertuples(),
                                       partition(town_geom, len(vills), town.township_code)):
                villages.append({"code": vill.village_code, "name": vill.village,
                                 "parent_code": town.township_code, "synthetic": True})
                rng = _rng(vill.village_code)
                parts = partition(vill_geom, grids_of[vill.village_code], vill.village_code)
                for serial, grid_geom in enumerate(parts, start=1):
                    households = int(rng.integers(120, 480))
                    county_grids.append({
                        # 网格编码: the 12-digit village code and a 3-digit serial
                        "code": f"{vill.village_code}{serial:03d}",
                        "name": f"{vill.village}第{serial}网格",
                        "parent_code": vill.village_code, "kind": "comprehensive",
                        "households": households,
                        "population": int(households * rng.uniform(2.2, 3.1)),
                        "synthetic": True, "geometry": grid_geom})
        exact = tile_exactly([g["geometry"] for g in county_grids])
        for row, geom in zip(county_grids, exact):
            row["geometry"] = geom
        grid_rows += county_grids
    grid_frame = gpd.GeoDataFrame(grid_rows, geometry="geometry", crs=4326)
    grid_frame["geometry"] = _as_multi(list(grid_frame.geometry))
    # Villages and townships are the unions of what they contain, so every level nests exactly.
    village_geom = _dissolve(grid_frame, "parent_code")
    village_frame = _frame(villages, [village_geom[v["code"]] for v in villages])
    township_geom = _dissolve(village_frame, "parent_code")
    township_frame = _frame(townships, [township_geom[t["code"]] for t in townships])
    county_rows = county_frame.drop(columns="geometry").to_dict("records")
    return Hierarchy(
        cities=seed_cities(county_frame),
        counties=_frame(county_rows, list(county_frame.geometry)),
        townships=township_frame, villages=village_frame, grids=grid_frame)
