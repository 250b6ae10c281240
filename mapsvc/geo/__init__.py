"""Coordinates: the reference systems phones and maps in China report, and their checks."""

from mapsvc.geo.crs import CRS, from_wgs84, to_wgs84

__all__ = ["CRS", "to_wgs84", "from_wgs84"]
