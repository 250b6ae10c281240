"""WGS84, CGCS2000 (EPSG:4490), GCJ-02 and BD-09 in both directions, over numpy arrays.

GCJ-02 (the offset used by AMap and Tencent) and BD-09 (Baidu) are not in PROJ, so the published
forward formulas are written here and inverted by fixed-point iteration until the round trip is
within 1e-9 degree. CGCS2000 equals WGS84 within about a metre, far below the size of any grid,
and is taken as WGS84. Points outside mainland China's bounding box pass through GCJ-02 and
BD-09 unchanged.
"""

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Krasovsky 1940 ellipsoid, as in the GCJ-02 algorithm
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30


class CRS(StrEnum):
    """A coordinate reference system a location can be reported in."""

    wgs84 = "wgs84"
    cgcs2000 = "cgcs2000"
    gcj02 = "gcj02"
    bd09 = "bd09"

    @classmethod
    def parse(cls, name: str) -> "CRS":
        """Accept the short names and the EPSG codes of the two geodetic systems."""
        aliases = {"epsg:4326": cls.wgs84, "epsg:4490": cls.cgcs2000}
        key = name.strip().lower()
        if key in aliases:
            return aliases[key]
        return cls(key)


# What the pages call them (names.js): by the maps that give coordinates in each
CRS_NAMES = {"wgs84": "WGS84（GPS）", "cgcs2000": "CGCS2000（天地图）",
             "gcj02": "GCJ-02（高德、腾讯地图）", "bd09": "BD-09（百度地图）"}


Arrays = tuple[NDArray[np.float64], NDArray[np.float64]]


def in_china(lon: NDArray, lat: NDArray) -> NDArray[np.bool_]:
    """The bounding box inside which GCJ-02 offsets are applied."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_offset(lon: NDArray, lat: NDArray) -> Arrays:
    x, y = lon - 105.0, lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: NDArray, lat: NDArray) -> Arrays:
    dlon, dlat = _gcj_offset(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09(lon: NDArray, lat: NDArray) -> Arrays:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward, lon: NDArray, lat: NDArray) -> Arrays:
    """Solve forward(x) = target by fixed-point iteration (the offsets are smooth and small)."""
    x, y = lon.copy(), lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if max(np.nanmax(np.abs(ex), initial=0.0),
               np.nanmax(np.abs(ey), initial=0.0)) < _TOLERANCE_DEG:
            break
    return x, y


def gcj02_to_wgs84(lon: NDArray, lat: NDArray) -> Arrays:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: NDArray, lat: NDArray) -> Arrays:
    return _invert(gcj02_to_bd09, lon, lat)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


_TO_WGS84 = {
    CRS.gcj02: gcj02_to_wgs84,
    CRS.bd09: lambda lon, lat: gcj02_to_wgs84(*bd09_to_gcj02(lon, lat)),
}
_FROM_WGS84 = {
    CRS.gcj02: wgs84_to_gcj02,
    CRS.bd09: lambda lon, lat: gcj02_to_bd09(*wgs84_to_gcj02(lon, lat)),
}


def _convert(table, lon: ArrayLike, lat: ArrayLike, crs: CRS | str) -> Arrays:
    lon, lat = _as_arrays(lon, lat)
    convert = table.get(CRS.parse(crs) if isinstance(crs, str) else crs)
    if convert is None:  # WGS84 and CGCS2000
        return lon.copy(), lat.copy()
    x, y = convert(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, x, lon), np.where(inside, y, lat)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRS | str) -> Arrays:
    """Normalise coordinates reported in ``crs`` to WGS84 (EPSG:4326)."""
    return _convert(_TO_WGS84, lon, lat, crs)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRS | str) -> Arrays:
    """Express WGS84 coordinates in ``crs`` (what a Chinese basemap expects)."""
    return _convert(_FROM_WGS84, lon, lat, crs)
