import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from response.models import ExposureResult, ExposureRun
from response.services import exposure_run_start
from tests.factories import HouseholdFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory, default_class

pytestmark = pytest.mark.django_db


def run_for(incident, **kwargs) -> ExposureRun:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None, **kwargs)
    run.refresh_from_db()
    assert run.status == ExposureRun.Status.SUCCEEDED, run.error
    return run


def results(run):
    return {r.household_id: r for r in ExposureResult.objects.filter(run=run)}


def test_boundary_rule_edges_holes_and_shared_edges(two_districts):
    incident = IncidentFactory()
    outer = [(90.0, 23.0), (90.4, 23.0), (90.4, 23.4), (90.0, 23.4), (90.0, 23.0)]
    hole = [(90.1, 23.1), (90.2, 23.1), (90.2, 23.2), (90.1, 23.2), (90.1, 23.1)]
    low = HazardZoneFactory(
        incident=incident,
        hazard_class=default_class("flood", "low"),
        geom=MultiPolygon(Polygon(outer, hole), srid=4326),
    )
    # Shares the edge x = 90.4 with the low zone.
    high = HazardZoneFactory(
        incident=incident,
        hazard_class=default_class("flood", "high"),
        geom=MultiPolygon(Polygon.from_bbox((90.4, 23.0, 90.8, 23.4)), srid=4326),
    )
    inside = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    on_outer_edge = HouseholdFactory(location=Point(90.0, 23.25, srid=4326))
    in_hole = HouseholdFactory(location=Point(90.15, 23.15, srid=4326))
    on_hole_edge = HouseholdFactory(location=Point(90.1, 23.15, srid=4326))
    on_shared_edge = HouseholdFactory(location=Point(90.4, 23.2, srid=4326))
    outside = HouseholdFactory(location=Point(90.9, 23.9, srid=4326))

    found = results(run_for(incident))

    assert found[inside.id].hazard_class.key == "low"
    assert found[inside.id].zone_id == low.id
    assert found[on_outer_edge.id].distance_m == pytest.approx(0, abs=0.01)
    assert "on the edge of" in found[on_outer_edge.id].reason
    assert in_hole.id not in found
    assert on_hole_edge.id in found
    assert found[on_shared_edge.id].hazard_class.key == "high"
    assert found[on_shared_edge.id].zone_id == high.id
    assert outside.id not in found
    # 0.1° of longitude at 23.3°N from the nearest edge (x = 90.4) is about 10.2 km; nearest is y = 23.4: 11.1 km.
    assert found[inside.id].distance_m == pytest.approx(10_230, rel=0.01)


def test_approximate_households(two_districts):
    _, west, east = two_districts
    incident = IncidentFactory()
    zone = HazardZoneFactory(
        incident=incident, geom=MultiPolygon(Polygon.from_bbox((90.2, 23.2, 90.4, 23.4)), srid=4326)
    )
    area_only_west = HouseholdFactory(location=None, location_precision="area", area=west)
    area_only_east = HouseholdFactory(location=None, location_precision="area", area=east)

    run = run_for(incident)
    found = results(run)

    assert found[area_only_west.id].approximate is True
    assert "West" in found[area_only_west.id].reason
    assert area_only_east.id not in found
    assert run.result["approximate_households"] == 1
    assert run.result["zone_versions"] == [zone.id]


def test_chunked_pipeline_gives_the_same_rows(two_districts):
    incident = IncidentFactory()
    HazardZoneFactory(incident=incident, geom=MultiPolygon(Polygon.from_bbox((90.1, 23.1, 90.5, 23.5)), srid=4326))
    for i in range(30):
        HouseholdFactory(location=Point(90.0 + i * 0.02, 23.3, srid=4326))
    whole = run_for(incident)
    chunked = run_for(incident, chunk_size=4)
    columns = ("household_id", "class_rank", "distance_m", "reason")
    expected = sorted(ExposureResult.objects.filter(run=whole).values_list(*columns))
    assert len(expected) == 21  # 90.10 … 90.50 inclusive: the boundary rule
    assert sorted(ExposureResult.objects.filter(run=chunked).values_list(*columns)) == expected


def test_deleting_a_run_drops_its_results(client_for, two_districts):
    from django.db import connection

    incident = IncidentFactory()
    HazardZoneFactory(incident=incident)
    HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    run = run_for(incident)
    assert ExposureResult.objects.filter(run=run).count() == 1
    response = client_for(roles=["emergency_coordinator"]).delete(f"/api/v1/response/exposure-runs/{run.pk}/")
    assert response.status_code == 204
    assert not ExposureRun.objects.filter(pk=run.pk).exists()
    assert not ExposureResult.objects.filter(run_id=run.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"response_exposureresult_r{run.pk}"])
        assert cursor.fetchone()[0] is None


def test_zone_versions_are_cut_into_pieces_when_written():
    from django.db import connection

    def pieces(zone):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), max(ST_NPoints(p.geom)), abs(ST_Area(ST_Union(p.geom)) - ST_Area(z.geom)) "
                "FROM response_hazardzonepiece p JOIN response_hazardzone z ON z.id = p.zone_id "
                "WHERE z.id = %s GROUP BY z.geom",
                [zone.id],
            )
            return cursor.fetchone()

    # A circle of 4,096 vertices with a triangular hole: many pieces, which together are the zone.
    ring = Point(90.3, 23.3, srid=4326).buffer(0.2, quadsegs=1024)
    zone = HazardZoneFactory(
        geom=MultiPolygon(
            Polygon(ring.exterior_ring, ((90.25, 23.25), (90.35, 23.25), (90.35, 23.35), (90.25, 23.25))), srid=4326
        )
    )
    count, most_vertices, area_difference = pieces(zone)
    assert count > 64 and most_vertices <= 64 and area_difference < 1e-9

    zone.geom = MultiPolygon(Polygon.from_bbox((90.0, 23.0, 90.1, 23.1)), srid=4326)
    zone.save()
    assert pieces(zone)[0] == 1  # re-cut when the geometry changes


def test_an_abandoned_stream_stops_its_reader():
    from django.db import transaction

    from spmis.core.bulk import stream_batches

    query = "SELECT array_agg(g::int8) FROM generate_series(1, 200000) AS g GROUP BY g % 100"
    with transaction.atomic():
        batches = stream_batches(query, ["int8[]"], 2_000, depth=1)
        first = next(batches)
        batches.close()  # the consumer fails or stops: the reader thread must not stay blocked on the full queue
        assert len(first[0]) >= 2_000
        assert sum(len(b[0]) for b in stream_batches(query, ["int8[]"], 50_000)) == 200_000
