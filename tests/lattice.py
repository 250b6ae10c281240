"""A hand-made test area with exactly representable edges: a 3 × 3 lattice of square grids.

It lies in the South China Sea, far from the demo counties, in one county → township → village,
loaded through the ordinary boundary import. Cell edges sit on multiples of 1/512 degree, so a
point on an edge or vertex is exactly on it in floating point. A dedicated grid (专属网格, e.g.
a school) overlaps the centre cell.
"""

import json
from pathlib import Path

import shapely
from shapely.geometry import box, mapping

X0, Y0, STEP = 120.0, 20.0, 1 / 512
COUNTY, TOWNSHIP, VILLAGE = "990100", "990100001", "990100001001"
# A one-grid area in Xinjiang, where a swapped longitude/latitude pair is still in range.
WEST = box(80.0, 40.0, 80.0 + STEP, 40.0 + STEP)
WEST_COUNTY, WEST_GRID = "990200", "990200001001001"
DEDICATED = box(X0 + 1.25 * STEP, Y0 + 1.25 * STEP, X0 + 1.75 * STEP, Y0 + 1.75 * STEP)


def cell_code(col: int, row: int) -> str:
    return f"{VILLAGE}{row * 3 + col + 1:03d}"


def cells() -> dict[str, shapely.Polygon]:
    return {cell_code(c, r): box(X0 + c * STEP, Y0 + r * STEP, X0 + (c + 1) * STEP,
                                 Y0 + (r + 1) * STEP)
            for r in range(3) for c in range(3)}


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _feature(geom, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def write_files(folder: Path) -> dict[str, Path]:
    area = box(X0, Y0, X0 + 3 * STEP, Y0 + 3 * STEP)
    grid_features = [_feature(g, code=code, name=f"测试网格{code[-3:]}", parent_code=VILLAGE)
                     for code, g in cells().items()]
    grid_features.append(_feature(DEDICATED, code=f"{VILLAGE}900", name="测试学校专属网格",
                                  parent_code=VILLAGE, kind="dedicated"))
    grid_features.append(_feature(WEST, code=WEST_GRID, name="西部测试网格",
                                  parent_code=WEST_GRID[:12]))
    west = WEST_COUNTY
    return {
        "county": _write(folder / "county.geojson", [
            _feature(area, code=COUNTY, name="测试县"), _feature(WEST, code=west, name="西部测试县")]),
        "township": _write(folder / "township.geojson", [
            _feature(area, code=TOWNSHIP, name="测试镇", parent_code=COUNTY),
            _feature(WEST, code=f"{west}001", name="西部测试镇", parent_code=west)]),
        "village": _write(folder / "village.geojson", [
            _feature(area, code=VILLAGE, name="测试村", parent_code=TOWNSHIP),
            _feature(WEST, code=f"{west}001001", name="西部测试村", parent_code=f"{west}001")]),
        "grid": _write(folder / "grid.geojson", grid_features),
    }


def expected_grid(x: float, y: float) -> tuple[str | None, str]:
    """The documented rule, evaluated with shapely: interior beats boundary, dedicated beats
    comprehensive, then the lowest code."""
    p = shapely.Point(x, y)
    all_grids = {**cells(), f"{VILLAGE}900": DEDICATED}
    covering = [(not g.contains(p), not code.endswith("900"), code)
                for code, g in all_grids.items() if g.covers(p)]
    if not covering:
        return None, "unassigned"
    interior_missing, _, code = min(covering)
    return code, "edge" if interior_missing else "inside"
