"""Map pages and the Folium layers they are built from (wall screen, phone, planner)."""
