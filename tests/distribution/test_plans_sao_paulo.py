"""A plan on the real São Paulo extract (loaded by the real loader): a dry-day plan, then a re-plan after a drawn
flood across the centre. Closures can only lengthen a household's trip; some households change point or become
unreachable, each with a reason, and the re-plan's diff says so."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test import TestCase

from distribution.models import DistributionPlan, PlanAssignment
from tests.distribution.factories_plans import entitle, in_kind_cycle
from tests.distribution.factories_roads import SAO_PAULO_PBF, sao_paulo_network
from tests.distribution.factories_stock import StockItemFactory, rice
from tests.factories import DistributionPointFactory
from tests.response.factories import ExposureRunFactory, HazardZoneFactory, IncidentFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not SAO_PAULO_PBF.exists(), reason="the São Paulo extract is not on this machine"),
]
URL = "/api/v1/distribution/plans/"


def plan(client, **payload) -> DistributionPlan:
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(URL, payload, format="json")
    assert response.status_code == 202, response.content
    row = DistributionPlan.objects.get(pk=response.json()["id"])
    assert row.status == "succeeded", row.error
    return row


def test_a_flood_across_the_centre_lengthens_trips_and_moves_households_with_reasons(tmp_path, client_for):
    network = sao_paulo_network(tmp_path, code="sp-plan", make_default=True)
    xmin, ymin, xmax, ymax = network.extent.extent
    width, height = xmax - xmin, ymax - ymin
    # Households at 300 vertices spread over the extent (a few metres off the street), points in the four quarters.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ST_X(geom) + 0.00005, ST_Y(geom) + 0.00005 FROM distribution_roadvertex
               WHERE network_id = %s ORDER BY md5(id::text) LIMIT 300""",
            [network.pk],
        )
        places = cursor.fetchall()
    from django.contrib.gis.geos import Point

    for n, (fx, fy) in enumerate(((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75))):
        DistributionPointFactory(
            code=f"SP{n}",
            location=Point(xmin + fx * width, ymin + fy * height, srid=4326),
            daily_capacity_households=500,
        )
    rice()
    StockItemFactory(code="oil", base_unit="l", weight_kg=1)
    cycle = in_kind_cycle(name="São Paulo relief")
    households = entitle(cycle, [Point(x, y, srid=4326) for x, y in places])
    officer = client_for(roles=["logistics_officer"])

    dry = plan(officer, cycle=cycle.pk, max_snap_m=300)
    assert dry.network_id == network.pk and dry.result["closure_zones"] == 0
    assert dry.result["assigned"] >= 0.9 * len(households)  # a few vertices sit on pieces cut off by the extract

    # A flood band across the middle of the extract, drawn by the coordinator.
    band = Polygon.from_bbox((xmin - 0.01, ymin + 0.45 * height, xmax + 0.01, ymin + 0.55 * height))
    incident = IncidentFactory()
    zone = HazardZoneFactory(incident=incident, geom=MultiPolygon(band, srid=4326))
    run = ExposureRunFactory(incident=incident)
    run.zones.add(zone)
    wet = plan(officer, cycle=cycle.pk, exposure_run=run.pk, max_snap_m=300)
    assert wet.previous_id == dry.pk and wet.result["closure_zones"] == 1
    assert wet.result["open_edges"] < dry.result["open_edges"]

    before = {a.household_id: a for a in PlanAssignment.objects.filter(plan=dry)}
    after = {a.household_id: a for a in PlanAssignment.objects.filter(plan=wet)}
    both = [h for h in before if before[h].point_id and after[h].point_id]
    # Closing roads never shortens a trip (a small tolerance for snapping to another vertex of the same corner).
    assert all(after[h].travel_s >= before[h].travel_s - 1 for h in both if after[h].vertex == before[h].vertex)
    changed = [h for h in both if after[h].point_id != before[h].point_id]
    longer = [h for h in both if after[h].travel_s > before[h].travel_s + 1]
    lost = [h for h in before if before[h].point_id and not after[h].point_id]
    assert longer, "the flood should lengthen some trips across the centre"
    assert all(after[h].reason for h in lost)
    changes = wet.result["changes"]
    assert changes["changed_point"] == len(changed) and changes["became_unreachable"] == len(lost)
    diff = officer.get(f"{URL}{wet.pk}/diff/").json()
    assert diff["changed_point"] == len(changed)

    geojson = officer.get(f"{URL}{wet.pk}/map/").json()
    catchments = [f for f in geojson["features"] if f["properties"]["layer"] == "catchment"]
    assert catchments and sum(f["properties"]["households"] for f in catchments) == wet.result["assigned"]
