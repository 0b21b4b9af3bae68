"""Personal data by permission: roles without registry.view_personal_data get the reduced representation of the
registry (no names, birth dates, phones, documents, addresses, custom fields or exact locations), through the API,
its exports, the household tiles and the map page."""

import csv
import datetime
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point

from spmis.core.roles import ROLES
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.registry.factories import IdTypeFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/registry"
# What must never reach a role without the permission: a name, a birth date, a phone, a document number, an
# address, a custom value, an external id and the household's coordinates.
SECRETS = ["Núñez", "José", "1987-03-04", "8801712345678", "1234567890", "Road 7", "fishing", "EXT-W1", "90.5123"]


@pytest.fixture
def registry(two_districts):
    _, west, _ = two_districts
    home = HouseholdFactory(
        external_id="EXT-W1", location=Point(90.5123, 23.5, srid=4326), address="Road 7", custom={"roof": "tin"}
    )
    jose = IndividualFactory(
        given_name="José", family_name="Núñez", birth_date=datetime.date(1987, 3, 4), custom={"livelihood": "fishing"}
    )
    MembershipFactory(household=home, individual=jose)
    jose.phones.create(number="+8801712345678")
    jose.documents.create(id_type=IdTypeFactory(), number="1234567890")
    HouseholdFactory(external_id="EXT-E1", location=Point(91.5, 23.5, srid=4326))
    return {"home": home, "jose": jose, "west": west}


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def assert_no_secrets(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"personal data leaked: {leaked}"


def test_the_permission_goes_to_coordinators_program_and_grievance_officers_and_administrators_only():
    # Grievance officers read a complainant's contact and the household a ticket concerns, inside their areas.
    holders = {
        role
        for role, label in ROLES.items()
        if Group.objects.get(name=label).permissions.filter(codename="view_personal_data").exists()
    }
    assert holders == {"emergency_coordinator", "program_officer", "grievance_officer", "administrator"}


def test_logistics_officer_gets_no_personal_data_from_the_household_list_detail_or_export(client_for, registry):
    logistics = client_for(roles=["logistics_officer"])  # national, as the demo's logistics user
    listing = logistics.get(f"{BASE}/households/")
    assert listing.status_code == 200
    assert_no_secrets(body(listing))
    features = listing.json()["features"]
    assert len(features) == 2
    first = features[0]
    assert first["geometry"] is None
    assert first["properties"]["area_code"] == "C-W" and first["properties"]["size"] == 1
    assert "members" not in first["properties"] and "address" not in first["properties"]

    detail = logistics.get(f"{BASE}/households/{registry['home'].pk}/")
    assert detail.status_code == 200 and detail.json()["geometry"] is None
    assert_no_secrets(body(detail))

    export = logistics.get(f"{BASE}/households/export/")
    assert export.status_code == 200
    text = body(export)
    assert_no_secrets(text)
    header = next(csv.reader(io.StringIO(text)))
    assert "area_code" in header and "size" in header
    assert not {"longitude", "latitude", "address", "external_id", "custom"} & set(header)
    assert logistics.get(f"{BASE}/households/export/", {"file": "gpkg"}).status_code == 403


@pytest.mark.parametrize("params", [{"q": "José"}, {"phone": "01712345678"}, {"document": "1234567890"}])
def test_searching_people_needs_the_permission(client_for, registry, params):
    logistics = client_for(roles=["logistics_officer"])
    response = logistics.get(f"{BASE}/households/", params)
    assert response.status_code == 403
    assert next(iter(params)) in response.json()["detail"]
    near = logistics.get(f"{BASE}/households/", {"near": "90.5123,23.5", "radius_m": 5})
    assert near.status_code == 403
    # Filtering by area stays open: it only narrows the counts.
    assert logistics.get(f"{BASE}/households/", {"area": "C-W"}).json()["count"] == 1


def test_auditor_reads_individuals_without_names_birth_dates_phones_or_documents(client_for, registry):
    auditor = client_for(roles=["auditor"])
    listing = auditor.get(f"{BASE}/individuals/")
    assert listing.status_code == 200
    assert_no_secrets(body(listing))
    row = listing.json()["results"][0]
    assert set(row) == {"id", "registrant_id", "status", "households"}
    assert row["households"][0]["household"] == registry["home"].pk
    export = body(auditor.get(f"{BASE}/individuals/export/"))
    assert_no_secrets(export)
    assert export.splitlines()[0] == "registrant_id,status,status_date,household_registrant_id,role,area_code"


def test_roles_with_the_permission_still_see_everything(client_for, registry):
    officer = client_for(roles=["program_officer"])
    listing = body(officer.get(f"{BASE}/households/"))
    assert "Núñez" in listing and "90.5123" in listing and "Road 7" in listing
    assert "José" in body(officer.get(f"{BASE}/individuals/export/"))
    assert "90.5123" in body(officer.get(f"{BASE}/households/export/"))


def test_household_points_need_the_permission(client_for, registry):
    tile = "/api/v1/registry/households/tiles/8/192/110.mvt"
    assert client_for(roles=["logistics_officer"]).get(tile).status_code == 403
    assert client_for(roles=["gis_analyst"]).get(tile).status_code == 403
    points = client_for(roles=["emergency_coordinator"]).get(tile)
    assert points.status_code == 200 and points.content


def test_map_page_offers_points_only_with_the_permission(client_for, registry):
    from django.test import Client

    from tests.factories import UserFactory

    def config(roles):
        client = Client()
        client.force_login(UserFactory(roles=roles))
        html = client.get("/map/").content.decode()
        start = html.index('id="page-config"')
        start = html.index(">", start) + 1
        return json.loads(html[start : html.index("</script>", start)])["can"]

    assert config(["logistics_officer"])["householdPoints"] is False
    assert config(["logistics_officer"])["households"] is True
    assert config(["emergency_coordinator"])["householdPoints"] is True


def test_auditor_sees_change_requests_without_their_payload(client_for, registry):
    from registry.services import change_request_submit
    from tests.factories import UserFactory

    change_request_submit(
        user=UserFactory(roles=["program_officer"]),
        kind="phone",
        individual_id=registry["jose"].pk,
        payload={"phone": "01799999999"},
    )
    listing = client_for(roles=["auditor"]).get(f"{BASE}/change-requests/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    assert "1799999999" not in body(listing) and "payload" not in listing.json()["results"][0]
    officer = client_for(roles=["program_officer"]).get(f"{BASE}/change-requests/")
    assert "1799999999" in body(officer)


def test_the_audit_log_withholds_registry_values_from_auditors(client_for, registry):
    auditor = client_for(roles=["auditor"])
    events = auditor.get("/api/v1/geo/audit-events/", {"table": "registry_individual"})
    assert events.status_code == 200 and events.json()["count"] >= 1
    assert_no_secrets(body(events))
    first = events.json()["results"][0]
    assert first["values_withheld"] is True and first["after"] is None and first["action"] == "insert"
    areas = auditor.get("/api/v1/geo/audit-events/", {"table": "geo_area"}).json()["results"]
    assert areas and areas[0]["values_withheld"] is False and areas[0]["after"]
    administrator = client_for(roles=["administrator"])
    assert "Núñez" in body(administrator.get("/api/v1/geo/audit-events/", {"table": "registry_individual"}))
