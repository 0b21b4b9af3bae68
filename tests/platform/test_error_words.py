"""No server file path, table or constraint name in an API response or error: constraint violations are told in
plain words, and paths are cut to the file's own name."""

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIRequestFactory

from response.models import ExposureRun, HazardZone
from spmis.api.exceptions import exception_handler
from spmis.api.redact import redact_paths
from tests.factories import HouseholdFactory, IndividualFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def violation(sql: str, params: list) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return caught.value


def handled(error):
    response = exception_handler(error, {"request": APIRequestFactory().get("/")})
    assert response.status_code == 409
    return response.data


def test_a_known_constraint_is_told_in_its_own_words():
    person = IndividualFactory(given_name="Amina")
    person.phones.create(number="+8801712345678")
    data = handled(
        violation(
            "INSERT INTO registry_phone (individual_id, number, is_primary, created_at) VALUES (%s, %s, true, now())",
            [person.pk, "+8801712345678"],
        )
    )
    assert data == {"phones": ["The person already has this phone number."]}


def test_an_unknown_unique_violation_names_the_field_not_the_constraint():
    HouseholdFactory(external_id="HH-1")
    data = handled(
        violation(
            "INSERT INTO registry_household (external_id, kind, location_precision, address, registered_on, source,"
            " created_at, updated_at) VALUES ('HH-1', 'household', 'gps', '', current_date, '', now(), now())",
            [],
        )
    )
    assert data == {"external_id": ["Another record already has this value."]}
    assert "registry_" not in str(data) and "_key" not in str(data)


def test_paths_are_cut_to_the_files_own_name():
    text = "'/var/lib/spmis/media/layer-imports/2026/12/rivers.shp' not recognized; see https://gdal.org/a/b"
    assert redact_paths(text) == "'rivers.shp' not recognized; see https://gdal.org/a/b"
    assert redact_paths({"raster": ["/tmp/x/flood.tif failed"], "n": 3}) == {"raster": ["flood.tif failed"], "n": 3}
    assert redact_paths("lon/lat on 2026/12/01") == "lon/lat on 2026/12/01"


def test_run_and_zone_representations_carry_no_server_path(client_for, tmp_path):
    incident = IncidentFactory()
    run = ExposureRun.objects.create(
        incident=incident,
        parameters={"raster_path": str(tmp_path / "rasters" / "depth.tif"), "raster_band": 1},
        result={"raster": str(tmp_path / "rasters" / "depth.tif")},
        error={"raster": [f"The raster could not be read ({tmp_path}/rasters/depth.tif: truncated)."]},
    )
    zone = HazardZoneFactory(incident=incident, source_kind=HazardZone.Source.RASTER, source={"raster": "/srv/a/b.tif"})
    client = client_for(roles=["emergency_coordinator"])
    body = client.get(f"/api/v1/response/exposure-runs/{run.pk}/").content.decode()
    assert str(tmp_path) not in body and "depth.tif" in body
    zone_body = client.get(f"/api/v1/response/hazard-zones/{zone.pk}/").json()
    assert zone_body["properties"]["source"] == {"raster": "b.tif"}
