"""Hand-made areas for plans: each an urban village of three square grids in a row, beside a
neighbouring village, in its own county far from everything else. Each test that publishes
takes an area of its own (k = 1, 2, …), so tests stay independent.

    x0 ──────────── x0+S ─────────── x0+2S ────────── x0+3S
    │   A (…001)     │    B (…002)    │    C (…003)    │   village   (the neighbour lies north)

S = 1/256 degree (~400 m): cell edges sit on exact binary fractions, so drawn lines and points
are exact.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import box, mapping

S = 1 / 256


def _feature(geom, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


@dataclass(frozen=True)
class Area:
    k: int

    @property
    def county(self) -> str:
        return f"9903{self.k:02d}"

    @property
    def township(self) -> str:
        return f"{self.county}001"

    @property
    def village(self) -> str:
        return f"{self.township}001"

    @property
    def neighbour(self) -> str:
        return f"{self.township}002"

    def code(self, name: str) -> str:
        return f"{self.village}{'ABC'.index(name) + 1:03d}"

    def cell(self, i: float, j: float = 0, w: float = 1, h: float = 1):
        x0, y0 = 121.0 + self.k * 0.1, 21.0
        return box(x0 + i * S, y0 + j * S, x0 + (i + w) * S, y0 + (j + h) * S)

    def at(self, i: float, j: float) -> tuple[float, float]:
        """The point i cells east and j cells north of the village's south-west corner."""
        return 121.0 + self.k * 0.1 + i * S, 21.0 + j * S

    @property
    def village_shape(self):
        return self.cell(0, 0, 3, 1)

    def write_files(self, folder: Path) -> dict[str, Path]:
        both = self.cell(0, 0, 3, 2)
        grids = [_feature(self.cell(i), code=self.code(n), name=f"规划测试网格{n}",
                          parent_code=self.village) for i, n in enumerate("ABC")]
        grids.append(_feature(self.cell(0, 1, 3, 1), code=f"{self.neighbour}001",
                              name="邻村网格", parent_code=self.neighbour))
        layers = {
            "county": [_feature(both, code=self.county, name=f"规划测试县{self.k}")],
            "township": [_feature(both, code=self.township, name="规划测试镇",
                                  parent_code=self.county)],
            "village": [_feature(self.village_shape, code=self.village, name="规划测试社区",
                                 parent_code=self.township),
                        _feature(self.cell(0, 1, 3, 1), code=self.neighbour, name="邻村",
                                 parent_code=self.township)],
            "grid": grids,
        }
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for level, features in layers.items():
            paths[level] = folder / f"{level}.geojson"
            paths[level].write_text(json.dumps({"type": "FeatureCollection",
                                                "features": features}))
        return paths
