"""The line that cuts a grid in two halves of equal area across its longer side, for any shape
a grid may have."""

import math

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.affinity import rotate, scale
from shapely.geometry import box
from shapely.ops import split

from mapsvc.boundaries.halving import halving_line


def _local(geom, lat: float):
    """Metres' proportions at ``lat``: east shrunk by its cosine (as the halving reads them)."""
    return scale(geom, xfact=math.cos(math.radians(lat)), yfact=1, origin=(0, 0))


@st.composite
def grids(draw):
    """A grid of China's extent and a grid's size: the hull of scattered points (convex), or
    an L or a U of boxes (folding back), turned any way."""
    lon, lat = draw(st.floats(74, 134)), draw(st.floats(18, 53))
    size = draw(st.floats(0.001, 0.05))
    if draw(st.booleans()):
        points = draw(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3,
                               max_size=30))
        shape = shapely.MultiPoint(points).convex_hull
        if shape.geom_type != "Polygon" or shape.area < 0.05:
            shape = box(0, 0, 1, draw(st.floats(0.2, 1)))
    else:
        arm = draw(st.floats(0.1, 0.4))
        shape = box(0, 0, 1, arm).union(box(0, 0, arm, 1))
        if draw(st.booleans()):  # a U
            shape = shape.union(box(1 - arm, 0, 1, 1))
    turned = rotate(shape, draw(st.floats(0, 180)), origin=(0.5, 0.5))
    return scale(turned, xfact=size, yfact=size, origin=(0, 0)).buffer(0), lon, lat


@settings(max_examples=200, deadline=None)
@given(grids())
def test_the_line_leaves_half_the_grids_area_on_either_side_square_to_its_longer_side(drawn):
    shape, lon, lat = drawn
    grid = shapely.affinity.translate(shape, lon, lat)
    line = halving_line(grid)
    pieces = split(grid, line).geoms
    assert len(pieces) >= 2
    (x0, y0), (x1, y1) = line.coords
    sides = {-1: 0.0, 1: 0.0}
    for piece in pieces:  # each piece on one side: by where a point inside it lies
        px, py = piece.representative_point().coords[0]
        sides[int(np.sign((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)))] += piece.area
    assert math.isclose(sides[-1], sides[1], rel_tol=1e-6)
    assert math.isclose(sides[-1] + sides[1], grid.area, rel_tol=1e-9)
    # square, in metres' proportions, to the longer side of the least rectangle around it
    local_line, local_grid = _local(line, grid.centroid.y), _local(grid, grid.centroid.y)
    corners = np.asarray(shapely.minimum_rotated_rectangle(local_grid).exterior.coords)
    longer = max(np.diff(corners[:3], axis=0), key=np.linalg.norm)
    direction = np.diff(np.asarray(local_line.coords), axis=0)[0]
    assert abs(direction @ longer) <= 1e-9 * np.linalg.norm(direction) * np.linalg.norm(longer)


def test_a_rectangle_on_the_ground_is_cut_at_half_its_length():
    """Golden: 2 km east by 1 km north at 30°N (0.02078° of longitude, 0.009° of latitude is
    about that) cut by the meridian through its middle."""
    width = 2000 / (111_320 * math.cos(math.radians(30.0045)))
    grid = box(115, 30, 115 + width, 30.009)
    (x0, _), (x1, _) = halving_line(grid).coords
    assert math.isclose(x0, 115 + width / 2, abs_tol=1e-9) and math.isclose(x1, x0, abs_tol=1e-9)
