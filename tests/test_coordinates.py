"""Coordinates in the four systems phones and maps in China report, against an independent
implementation (PRCoords)."""

import warnings

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapsvc.geo.crs import CRS, from_wgs84, in_china, to_wgs84

N = 4000


@pytest.fixture(scope="module")
def china_points():
    """Random points over populated China (inside the offset box, away from its edges)."""
    rng = np.random.default_rng(7)
    return rng.uniform(75, 134, N), rng.uniform(18, 53, N)


def _reference(fn, lon, lat):
    out = np.array([fn(prcoords.Coords(la, lo)) for lo, la in zip(lon, lat)])
    return out[:, 1], out[:, 0]


def test_wgs84_to_gcj02_matches_prcoords(china_points):
    lon, lat = china_points
    ref = _reference(prcoords.wgs_gcj, lon, lat)
    got = from_wgs84(lon, lat, "gcj02")
    assert np.abs(got[0] - ref[0]).max() < 1e-9 and np.abs(got[1] - ref[1]).max() < 1e-9


def test_gcj02_to_wgs84_matches_prcoords_precise_inverse(china_points):
    lon, lat = china_points
    ref = _reference(prcoords.gcj_wgs_bored, lon, lat)
    got = to_wgs84(lon, lat, "gcj02")
    assert np.abs(got[0] - ref[0]).max() < 1e-7 and np.abs(got[1] - ref[1]).max() < 1e-7


def test_wgs84_to_bd09_matches_prcoords(china_points):
    lon, lat = china_points
    ref = _reference(prcoords.wgs_bd, lon, lat)
    got = from_wgs84(lon, lat, "bd09")
    assert np.abs(got[0] - ref[0]).max() < 1e-9 and np.abs(got[1] - ref[1]).max() < 1e-9


def test_bd09_to_wgs84_matches_prcoords_precise_inverse(china_points):
    lon, lat = china_points
    ref = _reference(prcoords.bd_wgs_bored, lon, lat)
    got = to_wgs84(lon, lat, "bd09")
    # PRCoords stops its BD-09 iteration at about 2e-7 degree of round-trip error (ours is
    # below 1e-12, see the round-trip test), so agreement is to that precision (2 cm).
    assert np.abs(got[0] - ref[0]).max() < 5e-7 and np.abs(got[1] - ref[1]).max() < 5e-7


def test_the_offsets_are_hundreds_of_metres_in_china(china_points):
    lon, lat = china_points
    g = from_wgs84(lon, lat, "gcj02")
    shift_m = np.hypot((g[0] - lon) * 111_320 * np.cos(np.radians(lat)), (g[1] - lat) * 110_574)
    assert 10 < shift_m.min() and shift_m.max() < 1000


@settings(max_examples=300, deadline=None)
@given(lon=st.floats(73.5, 135.0), lat=st.floats(18.0, 53.5),
       crs=st.sampled_from([CRS.gcj02, CRS.bd09]))
def test_round_trip_error_is_below_1e7_degree(lon, lat, crs):
    back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert abs(float(back[0]) - lon) < 1e-7 and abs(float(back[1]) - lat) < 1e-7


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_points_outside_china_pass_through_unchanged(crs):
    lon = np.array([-0.1276, 2.35, 139.69, -74.0, 151.2])  # London, Paris, Tokyo, NYC, Sydney
    lat = np.array([51.507, 48.857, 35.69, 40.71, -33.87])
    assert not in_china(lon, lat).any()
    for convert in (to_wgs84, from_wgs84):
        x, y = convert(lon, lat, crs)
        assert np.array_equal(x, lon) and np.array_equal(y, lat)


def test_cgcs2000_and_wgs84_are_taken_as_equal():
    x, y = to_wgs84([114.3], [30.5], "EPSG:4490")
    assert (x[0], y[0]) == (114.3, 30.5)


def test_unknown_crs_is_refused():
    with pytest.raises(ValueError):
        to_wgs84([1], [1], "mars")


def test_prcoords_agrees_outside_china_for_gcj02():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = prcoords.wgs_gcj(prcoords.Coords(48.857, 2.35))
    assert from_wgs84(2.35, 48.857, "gcj02") == (2.35, 48.857) == (ref.lon, ref.lat)
