"""Boundaries: the county → township → village hierarchy and the versioned grids (网格)."""
