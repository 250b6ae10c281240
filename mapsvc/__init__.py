"""mapsvc: the people's-situation map (民情地图) service."""
