"""The line that cuts a grid in two halves of equal area, across its longer side: a planner's
split without drawing one (from the keyboard, say)."""

import math

import numpy as np
import shapely
from shapely.affinity import scale
from shapely.geometry import LineString, Polygon

# bisected until the two sides' areas differ by less than this share of the grid's
AREA_TOLERANCE = 1e-9
BISECTIONS = 100  # at most: a float's 52 bits are halved away long before


def halving_line(grid) -> LineString:
    """A straight line (WGS84) across the whole of ``grid`` (a Polygon or MultiPolygon, WGS84),
    square to the longer side of the least rectangle around it, leaving half its area on
    either side. Where the grid folds back on itself the line may cut it in more pieces than
    two; the sides still hold half each. Areas and directions are taken in degrees of latitude
    and of longitude shrunk by the cosine of the grid's latitude, so that the line is straight
    in WGS84 too (the halves' areas on the ellipsoid differ by a few parts in ten thousand at
    most: five for a grid 5 km across at 53°N)."""
    shrink = math.cos(math.radians(grid.centroid.y))
    local = scale(grid, xfact=shrink, yfact=1, origin=(0, 0))
    corners = np.asarray(shapely.minimum_rotated_rectangle(local).exterior.coords)[:3]
    sides = np.diff(corners, axis=0)
    along = max(sides, key=np.linalg.norm)
    along = along / np.linalg.norm(along)
    across = np.array([-along[1], along[0]])
    points = shapely.get_coordinates(local)
    first, last = (points @ along).min(), (points @ along).max()
    offsets = points @ across
    middle = (offsets.max() + offsets.min()) / 2
    reach = np.ptp(offsets) + last - first  # beyond the grid both ways

    def line(at: float) -> list:  # square to the longer side, ``at`` along it
        return [at * along + (middle + sign * reach) * across for sign in (-1, 1)]

    low, high, half = first, last, local.area / 2
    for _ in range(BISECTIONS):
        at = (low + high) / 2
        below = local.intersection(Polygon(line(first - reach) + line(at)[::-1])).area
        if abs(below - half) <= AREA_TOLERANCE * local.area:
            break
        low, high = (at, high) if below < half else (low, at)
    return scale(LineString(line(at)), xfact=1 / shrink, yfact=1, origin=(0, 0))
