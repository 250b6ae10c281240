"""The line that cuts a grid in two halves, of equal area or of equal households, across its
longer side: a planner's split without drawing one (from the keyboard, say).

Areas, distances and directions are taken in degrees of latitude and of longitude shrunk by
the cosine of the grid's latitude, so that the line is straight in WGS84 too (the halves' areas
on the ellipsoid differ by a few parts in ten thousand at most: five for a grid 5 km across at
53°N)."""

import math

import numpy as np
import shapely
from shapely.affinity import scale
from shapely.geometry import LineString, Polygon

# bisected until the two sides' areas differ by less than this share of the grid's
AREA_TOLERANCE = 1e-9
BISECTIONS = 100  # at most: a float's 52 bits are halved away long before
# homes nearer than this along the longer side are at one place, no line passing between them
# (in degrees: about 0.1 mm)
APART = 1e-9


def halving_line(grid, homes: np.ndarray | None = None,
                 households: np.ndarray | None = None) -> LineString | None:
    """A straight line (WGS84) across the whole of ``grid`` (a Polygon or MultiPolygon, WGS84),
    square to the longer side of the least rectangle around it, leaving half its area on
    either side; or, given the points of the grid's ``homes`` (lon, lat rows) and the
    ``households`` at each, as near half the households as they can be shared, halfway
    between the homes nearest the line on either side (None: all the homes lie on one line
    square to the longer side, and cannot be shared). Where the grid folds back on itself
    the line may cut it in more pieces than two; the sides still hold half each."""
    shrink = math.cos(math.radians(grid.centroid.y))
    local = scale(grid, xfact=shrink, yfact=1, origin=(0, 0))
    corners = np.asarray(shapely.minimum_rotated_rectangle(local).exterior.coords)[:3]
    along = max(np.diff(corners, axis=0), key=np.linalg.norm)
    along = along / np.linalg.norm(along)
    across = np.array([-along[1], along[0]])
    points = shapely.get_coordinates(local)
    first, last = (points @ along).min(), (points @ along).max()
    offsets = points @ across
    middle = (offsets.max() + offsets.min()) / 2
    reach = np.ptp(offsets) + last - first  # beyond the grid both ways

    def line(at: float) -> list:  # square to the longer side, ``at`` along it
        return [at * along + (middle + sign * reach) * across for sign in (-1, 1)]

    if homes is None:
        at = _area_halved(local, lambda at: Polygon(line(first - reach) + line(at)[::-1]),
                          first, last)
    elif (at := _households_halved(homes * [shrink, 1] @ along, households)) is None:
        return None
    return scale(LineString(line(at)), xfact=1 / shrink, yfact=1, origin=(0, 0))


def _area_halved(local, below, low: float, high: float) -> float:
    """Where along the longer side the part ``below`` a position holds half the area."""
    half = local.area / 2
    for _ in range(BISECTIONS):
        at = (low + high) / 2
        held = local.intersection(below(at)).area
        if abs(held - half) <= AREA_TOLERANCE * local.area:
            break
        low, high = (at, high) if held < half else (low, at)
    return at


def _households_halved(positions: np.ndarray, households: np.ndarray) -> float | None:
    """Halfway between the two neighbouring homes (their ``positions`` along the longer side)
    that share the ``households`` most evenly; None if all lie at one place (within APART)."""
    order = np.argsort(positions, kind="stable")
    placed, held = positions[order], np.cumsum(households[order])
    # a line may pass between these and the next
    apart = np.flatnonzero(np.diff(placed) > APART)
    if not len(apart):
        return None
    best = apart[np.argmin(np.abs(held[apart] - held[-1] / 2))]
    return (placed[best] + placed[best + 1]) / 2
