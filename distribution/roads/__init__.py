"""Road networks for hazard-aware routing: edges and vertices in PostGIS for pgRouting, loaded from OpenStreetMap."""
