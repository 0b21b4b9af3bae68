"""Roads and routes through the API: uploading a network (a job), paths with closures, the fleet, route runs with
their GeoJSON and route sheet, and bad input refused with the field named."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from distribution.roads.models import RoadNetwork, RoadNetworkLoad, RouteRun
from tests.distribution.factories_roads import SAO_PAULO_PBF, sao_paulo_network
from tests.factories import DistributionPointFactory, WarehouseFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/distribution"
SE = (-46.6340, -23.5500)
BRAS = (-46.6150, -23.5440)


def circle(lon, lat, metres):
    return Point(lon, lat, srid=4326).buffer(metres / 111_320 / 0.917)


def test_a_logistics_officer_uploads_a_network_and_a_corrupt_one_is_refused(client_for, tmp_path):
    officer = client_for(roles=["logistics_officer"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = officer.post(
            f"{BASE}/road-networks/",
            {"file": SimpleUploadedFile("sp.osm.pbf", SAO_PAULO_PBF.read_bytes()), "code": "sp", "name": "SP"},
            format="multipart",
        )
    assert answer.status_code == 202, answer.content
    load = officer.get(f"{BASE}/road-network-loads/{answer.json()['id']}/").json()
    assert load["status"] == "succeeded", load
    assert load["result"]["edges"] > 8000
    listed = officer.get(f"{BASE}/road-networks/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["code"] for r in rows] == ["sp"] and rows[0]["status"] == "ready"

    broken = SAO_PAULO_PBF.read_bytes()[:4000] + b"\x00not a pbf" * 50
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = officer.post(
            f"{BASE}/road-networks/",
            {"file": SimpleUploadedFile("broken.osm.pbf", broken), "code": "broken"},
            format="multipart",
        )
    failed = officer.get(f"{BASE}/road-network-loads/{answer.json()['id']}/").json()
    assert failed["status"] == "failed"
    assert "could not be read as an OpenStreetMap extract" in failed["error"]["file"][0]
    assert not RoadNetwork.objects.filter(code="broken").exists()
    assert not RoadNetworkLoad.objects.get(pk=answer.json()["id"]).file  # the upload is removed
    assert officer.post(f"{BASE}/road-networks/", {"file": SimpleUploadedFile("x.txt", b"x"), "code": "x"},
                        format="multipart").json()["file"]  # fmt: skip
    # Others may look but not load.
    viewer = client_for(roles=["program_officer"])
    assert viewer.get(f"{BASE}/road-networks/").status_code == 200
    upload = {"file": SimpleUploadedFile("sp.osm.pbf", b"x"), "code": "sp2"}
    assert viewer.post(f"{BASE}/road-networks/", upload, format="multipart").status_code == 403


def test_the_path_endpoint_avoids_an_incidents_flood_and_says_when_it_cannot(client_for, tmp_path):
    network = sao_paulo_network(tmp_path)
    officer = client_for(roles=["logistics_officer"])
    url = f"{BASE}/road-networks/{network.pk}/path/?from={SE[0]},{SE[1]}&to={BRAS[0]},{BRAS[1]}"
    dry = officer.get(url).json()
    assert dry["properties"]["reachable"] and dry["geometry"]["type"] == "MultiLineString"

    incident = IncidentFactory()
    ring = circle(*BRAS, 450).difference(circle(*BRAS, 300))
    HazardZoneFactory(incident=incident, geom=MultiPolygon(ring, srid=4326), name="Brás ring")
    cut = officer.get(f"{url}&incident={incident.pk}").json()
    assert cut["properties"]["reachable"] is False
    assert "Brás ring" in cut["properties"]["reason"] and cut["properties"]["closures"]

    bad = officer.get(f"{BASE}/road-networks/{network.pk}/path/?from=abc&to=1,2")
    assert bad.status_code == 400 and "from" in bad.json()
    far = officer.get(f"{BASE}/road-networks/{network.pk}/path/?from=0,0&to={BRAS[0]},{BRAS[1]}")
    assert far.status_code == 400 and "No road within" in far.json()["start"][0]


def test_route_runs_give_routes_geojson_and_a_sheet_and_explain_unserved_stops(client_for, tmp_path):
    sao_paulo_network(tmp_path, make_default=True)  # routes use the default network when none is named
    officer = client_for(roles=["logistics_officer"])
    depot = WarehouseFactory(code="SP-WH", location=Point(-46.6333, -23.5475, srid=4326))
    spots = [(-46.640, -23.555), (-46.628, -23.560), (-46.620, -23.548), (-46.645, -23.540), (-46.625, -23.535)]
    points = [DistributionPointFactory(code=f"P{i}", location=Point(*xy, srid=4326)) for i, xy in enumerate(spots)]
    cut_off = DistributionPointFactory(code="ISLAND", location=Point(*BRAS, srid=4326))
    heavy = DistributionPointFactory(code="HEAVY", location=Point(-46.635, -23.552, srid=4326))
    incident = IncidentFactory()
    ring = circle(*BRAS, 450).difference(circle(*BRAS, 300))
    HazardZoneFactory(incident=incident, geom=MultiPolygon(ring, srid=4326), name="Brás ring")
    trucks = [
        officer.post(f"{BASE}/vehicles/", {"code": f"T{i}", "capacity_kg": 2000, "depot": depot.pk}).json()["id"]
        for i in range(2)
    ]
    assert officer.post(f"{BASE}/vehicles/", {"code": "T9", "capacity_kg": 0, "depot": depot.pk}).status_code == 400

    stops = [{"point": p.pk, "demand_kg": 600} for p in points]  # 3 x 600 kg fit a 2000 kg truck
    stops += [{"point": cut_off.pk, "demand_kg": 100}, {"point": heavy.pk, "demand_kg": 5000}]
    answer = officer.post(
        f"{BASE}/route-runs/", {"stops": stops, "vehicles": trucks, "incident": incident.pk, "time_limit_s": 2},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    run = answer.json()
    assert run["status"] == "succeeded", run
    routes = run["result"]["routes"]
    served = sorted(s["code"] for r in routes for s in r["stops"])
    assert served == sorted(p.code for p in points)
    assert all(r["load_kg"] <= 2000 for r in routes) and len(routes) == 2
    unserved = {u["code"]: u["reason"] for u in run["result"]["unserved"]}
    assert unserved["ISLAND"].startswith("Unreachable") and "Brás ring" in unserved["ISLAND"]
    assert "biggest truck" in unserved["HEAVY"]
    geojson = officer.get(f"{BASE}/route-runs/{run['id']}/geojson/").json()
    assert len(geojson["features"]) == 2
    assert all(f["geometry"]["type"] == "MultiLineString" and f["geometry"]["coordinates"] for f in geojson["features"])
    assert "OpenStreetMap" in geojson["attribution"]
    sheet = officer.get(f"{BASE}/route-runs/{run['id']}/sheet/")
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"
    assert sheet.content.startswith(b"%PDF")

    refused = officer.post(
        f"{BASE}/route-runs/", {"stops": [{"point": 999999, "demand_kg": 5}], "vehicles": trucks}, format="json"
    )
    assert refused.status_code == 400 and "999999" in refused.json()["stops"][0]
    assert RouteRun.objects.count() == 1
    assert client_for(roles=["program_officer"]).post(f"{BASE}/route-runs/", {}, format="json").status_code == 403


def test_a_large_route_request_is_a_job_that_a_worker_solves(client_for, tmp_path):
    sao_paulo_network(tmp_path, make_default=True)
    officer = client_for(roles=["logistics_officer"])
    depot = WarehouseFactory(code="SP-WH", location=Point(-46.6333, -23.5475, srid=4326))
    truck = officer.post(f"{BASE}/vehicles/", {"code": "BIG", "capacity_kg": 50_000, "depot": depot.pk}).json()["id"]
    grid = [(-46.650 + 0.006 * i, -23.565 + 0.006 * j) for i in range(6) for j in range(5)]  # 30 stops
    points = [DistributionPointFactory(location=Point(*xy, srid=4326)) for xy in grid]
    stops = [{"point": p.pk, "demand_kg": 100} for p in points]

    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = officer.post(
            f"{BASE}/route-runs/", {"stops": stops, "vehicles": [truck], "time_limit_s": 2}, format="json"
        )
        assert answer.status_code == 202 and answer.json()["status"] == "pending"
    run = officer.get(f"{BASE}/route-runs/{answer.json()['id']}/").json()
    assert run["status"] == "succeeded", run
    served = sum(len(r["stops"]) for r in run["result"]["routes"])
    assert served + len(run["result"]["unserved"]) == 30 and served >= 25
