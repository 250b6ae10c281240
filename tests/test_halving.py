"""The line that cuts a grid in two halves, of equal area or of equal households, across its
longer side, for any shape a grid may have."""

import math

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.affinity import rotate, scale, translate
from shapely.geometry import box
from shapely.ops import split

from mapsvc.boundaries.halving import APART, halving_line


def _local(geom, lat: float):
    """Metres' proportions at ``lat``: east shrunk by its cosine (as the halving reads them)."""
    return scale(geom, xfact=math.cos(math.radians(lat)), yfact=1, origin=(0, 0))


def _longer(grid) -> np.ndarray:
    """The longer side of the least rectangle around the grid, in metres' proportions, as a
    unit vector."""
    corners = np.asarray(shapely.minimum_rotated_rectangle(
        _local(grid, grid.centroid.y)).exterior.coords)
    longer = max(np.diff(corners[:3], axis=0), key=np.linalg.norm)
    return longer / np.linalg.norm(longer)


def _side(line, x: float, y: float) -> int:
    """Which side of the line the point lies on: -1 or 1 (0: on it)."""
    (x0, y0), (x1, y1) = line.coords
    return int(np.sign((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)))


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
    grid = translate(shape, lon, lat)
    line = halving_line(grid)
    pieces = split(grid, line).geoms
    assert len(pieces) >= 2
    sides = {-1: 0.0, 1: 0.0}
    for piece in pieces:  # each piece on one side: by where a point inside it lies
        sides[_side(line, *piece.representative_point().coords[0])] += piece.area
    assert math.isclose(sides[-1], sides[1], rel_tol=1e-6)
    assert math.isclose(sides[-1] + sides[1], grid.area, rel_tol=1e-9)
    # square, in metres' proportions, to the longer side of the least rectangle around it
    direction = np.diff(np.asarray(_local(line, grid.centroid.y).coords), axis=0)[0]
    assert abs(direction @ _longer(grid)) <= 1e-9 * np.linalg.norm(direction)


@settings(max_examples=200, deadline=None)
@given(grids(), st.data())
def test_the_households_are_shared_as_evenly_as_their_homes_allow(drawn, data):
    """No home on the line; the two sides' households differ by no more than the most at one
    place along the longer side (the best any cut square to it can do: the line passes between
    two places); no line only for homes all in one place."""
    shape, lon, lat = drawn
    grid = translate(shape, lon, lat)
    minx, miny, maxx, maxy = grid.bounds
    scattered = np.array(data.draw(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)),
                                            min_size=1, max_size=40)))
    homes = [minx, miny] + scattered * [maxx - minx, maxy - miny]
    homes = homes[shapely.contains_xy(grid, homes[:, 0], homes[:, 1])]
    if not len(homes):
        homes = np.array(grid.representative_point().coords)
    households = np.array(data.draw(st.lists(st.integers(1, 30), min_size=len(homes),
                                             max_size=len(homes))), dtype=float)
    line = halving_line(grid, homes, households)
    # the households at each place along the longer side (homes nearer than APART at one)
    along = shapely.get_coordinates(_local(shapely.MultiPoint(homes), grid.centroid.y)) \
        @ _longer(grid)
    order = np.argsort(along)
    places = np.split(households[order], np.flatnonzero(np.diff(along[order]) > APART) + 1)
    if line is None:
        assert len(places) == 1
        return
    sides = np.array([_side(line, x, y) for x, y in homes])
    assert 0 not in sides
    held = {side: households[sides == side].sum() for side in (-1, 1)}
    assert abs(held[-1] - held[1]) <= max(place.sum() for place in places)


def test_a_rectangle_on_the_ground_is_cut_at_half_its_length():
    """Golden: 2 km east by 1 km north at 30°N (0.02078° of longitude, 0.009° of latitude is
    about that) cut by the meridian through its middle."""
    width = 2000 / (111_320 * math.cos(math.radians(30.0045)))
    grid = box(115, 30, 115 + width, 30.009)
    (x0, _), (x1, _) = halving_line(grid).coords
    assert math.isclose(x0, 115 + width / 2, abs_tol=1e-9) and math.isclose(x1, x0, abs_tol=1e-9)
