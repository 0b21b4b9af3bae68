"""The analysis against a straightforward shapely reference on random zones (holes, several parts) and random
points, including points exactly on edges (vertices and edge midpoints on a binary grid, so both sides decide
exactly) and points in holes: each household's class, and its distance to the edge of the zone that gave it."""

import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from registry.models import Household
from response.models import ExposureResult, HazardZone
from response.services import exposure_run_start
from tests.response.factories import HazardZoneFactory, IncidentFactory, default_class

pytestmark = pytest.mark.django_db

STEP = 1 / 64  # coordinates on a binary grid are exact in floating point, so "on the edge" is well defined
X0, Y0 = 90.0, 23.0


def grid(i: int, j: int) -> tuple[float, float]:
    return X0 + i * STEP, Y0 + j * STEP


@st.composite
def zone_geometries(draw):
    """A rectangle-with-rectangular-holes polygon, or two of them as a multipolygon."""
    parts = []
    for offset in range(draw(st.integers(1, 2))):
        base = offset * 40
        w, h = draw(st.integers(6, 30)), draw(st.integers(6, 30))
        x, y = base + draw(st.integers(0, 5)), draw(st.integers(0, 5))
        shell = [grid(x, y), grid(x + w, y), grid(x + w, y + h), grid(x, y + h), grid(x, y)]
        holes = []
        if draw(st.booleans()):
            hx, hy = x + draw(st.integers(1, w - 4)), y + draw(st.integers(1, h - 4))
            hw, hh = draw(st.integers(1, min(3, x + w - hx - 1))), draw(st.integers(1, min(3, y + h - hy - 1)))
            holes.append([grid(hx, hy), grid(hx + hw, hy), grid(hx + hw, hy + hh), grid(hx, hy + hh), grid(hx, hy)])
        parts.append(shapely.Polygon(shell, holes))
    return shapely.MultiPolygon(parts)


@st.composite
def scenarios(draw):
    zones = draw(
        st.lists(st.tuples(zone_geometries(), st.sampled_from(["low", "moderate", "high"])), min_size=1, max_size=3)
    )
    points = []
    for geometry, _ in zones:
        # Vertices, edge midpoints (exactly on edges) and hole centres.
        for polygon in geometry.geoms:
            for ring in [polygon.exterior, *polygon.interiors]:
                coords = list(ring.coords)
                points.append(coords[draw(st.integers(0, len(coords) - 2))])
                a, b = coords[0], coords[1]
                points.append(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
            for hole in polygon.interiors:
                points.append(tuple(hole.centroid.coords[0]))
    points += draw(st.lists(st.tuples(st.integers(-2, 90), st.integers(-2, 40)).map(lambda ij: grid(*ij)), max_size=25))
    return zones, points


RANK = {"low": 1, "moderate": 2, "high": 3}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_analysis_matches_shapely_reference(scenario, two_districts):
    zones, points = scenario
    ExposureResult.objects.all().delete()
    HazardZone.objects.all().delete()
    Household.objects.all().delete()
    incident = IncidentFactory()
    for geometry, key in zones:
        HazardZoneFactory(
            incident=incident,
            hazard_class=default_class("flood", key),
            geom=GEOSGeometry(memoryview(geometry.wkb), srid=4326),
        )
    households = Household.objects.bulk_create(
        [Household(external_id=f"P{i}", location=Point(x, y, srid=4326)) for i, (x, y) in enumerate(points)]
    )
    expected = {}
    for household, (x, y) in zip(households, points, strict=True):
        point = shapely.Point(x, y)
        ranks = [RANK[key] for geometry, key in zones if geometry.intersects(point)]  # closed sets: edges count
        if ranks:
            expected[household.id] = max(ranks)

    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    rows = ExposureResult.objects.filter(run=run, approximate=False).values_list(
        "household_id", "class_rank", "distance_m"
    )
    assert {household: rank for household, rank, _ in rows} == expected

    # Distance to the edge of the zone that gave the class (the first zone of the highest rank containing the
    # point), against shapely in UTM 46N with the edges densified first (they are straight in lon/lat).
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32646", always_xy=True)
    edges = [
        shapely.transform(shapely.segmentize(geometry.boundary, 0.001), to_utm.transform, interleaved=False)
        for geometry, _ in zones
    ]
    where = dict(zip((h.id for h in households), points, strict=True))
    for household, rank, distance in rows:
        x, y = where[household]
        point = shapely.Point(x, y)
        index = next(i for i, (g, key) in enumerate(zones) if RANK[key] == rank and g.intersects(point))
        reference = edges[index].distance(shapely.Point(*to_utm.transform(x, y)))
        assert distance == pytest.approx(reference, rel=0.003, abs=0.01)
