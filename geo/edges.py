"""Distances from points to the edges of a polygon, in metres, vectorised (shapely STRtree + pyproj)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FACET_SEGMENTS = 16


@dataclass
class EdgeIndex:
    """A zone's edges (outer rings and holes) in a transverse Mercator projection centred on the zone, as facets of
    up to 16 consecutive segments in an STRtree. Edges are straight in lon/lat (as PostGIS tests containment), so
    they are first cut into pieces of at most 0.01° whose projected chords stay within a millimetre of the edge.
    Distances are within ~0.1 % of geodesic for zones a few hundred km across. Measured on a 10,000-vertex zone
    with 100 holes, 16-segment facets in a tree of 2-entry nodes find the nearest edge about twice as fast as single
    segments in the default tree: fewer, tighter boxes prune better for points deep inside a zone. Queries release
    the GIL, so batches are measured on worker threads while the database streams the next ones."""

    transformer: object
    tree: object

    @classmethod
    def for_wkb(cls, wkb: bytes) -> EdgeIndex:
        import shapely
        from pyproj import Proj

        geometry = shapely.segmentize(shapely.from_wkb(wkb), 0.01)
        centre = geometry.centroid
        # A bare Proj (lon/lat in degrees → metres) skips the CRS database look-ups of a Transformer.
        transformer = Proj(f"+proj=tmerc +lat_0={centre.y} +lon_0={centre.x} +ellps=WGS84 +units=m +no_defs")
        facets = []
        for ring in shapely.get_parts(shapely.boundary(geometry)):
            coords = shapely.get_coordinates(ring)
            x, y = transformer(coords[:, 0], coords[:, 1])
            xy = np.column_stack([x, y])
            # Consecutive facets share their end vertex, so together they cover the ring exactly.
            facets.extend(xy[start : start + FACET_SEGMENTS + 1] for start in range(0, len(xy) - 1, FACET_SEGMENTS))
        tree = shapely.STRtree([shapely.LineString(facet) for facet in facets], node_capacity=2)
        return cls(transformer=transformer, tree=tree)

    def distances(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        import shapely

        x, y = self.transformer(lon, lat)
        indices, distances = self.tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        result = np.full(len(lon), np.nan)
        result[indices[0]] = distances
        return result
