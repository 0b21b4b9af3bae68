import pytest
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection, transaction

from registry.models import Household
from spmis.core.audit import audit_context
from spmis.core.models import AuditEvent
from tests.factories import HouseholdFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def test_bulk_sql_update_is_audited_row_by_row_with_actor(two_districts):
    households = HouseholdFactory.create_batch(3, location=Point(90.5, 23.5, srid=4326))
    untouched = HouseholdFactory(location=Point(91.5, 23.5, srid=4326))
    with audit_context(actor="command:relocate", source="command"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_household SET location = ST_SetSRID(ST_MakePoint(91.2, 23.2), 4326) WHERE id = ANY(%s)",
            [[h.id for h in households]],
        )
    events = AuditEvent.objects.filter(table_name="registry_household", action="update")
    assert sorted(e.row_id for e in events) == sorted(h.id for h in households)
    event = events.first()
    assert (event.actor, event.source) == ("command:relocate", "command")
    # The area follows the new location (trigger), and the audit shows both sides of the change.
    assert event.before["area_id"] != event.after["area_id"]
    assert event.after["area_id"] == str(Household.objects.get(pk=event.row_id).area_id)
    assert not events.filter(row_id=untouched.id).exists()


def test_noop_update_is_not_recorded(two_districts):
    household = HouseholdFactory()
    before = AuditEvent.objects.count()
    Household.objects.filter(pk=household.pk).update(address=household.address)
    assert AuditEvent.objects.count() == before


def test_inserts_and_deletes_without_context_are_attributed_to_the_database_role():
    warehouse = WarehouseFactory()
    warehouse_id = warehouse.id
    warehouse.delete()
    events = AuditEvent.objects.filter(table_name="distribution_warehouse", row_id=warehouse_id)
    assert sorted(events.values_list("action", "source")) == [("delete", "sql"), ("insert", "sql")]
    assert {event.actor for event in events} == {f"db:{connection.settings_dict['USER']}"}


@pytest.mark.parametrize(
    "statement",
    ["UPDATE geo_auditevent SET actor = 'someone else'", "DELETE FROM geo_auditevent"],
)
def test_audit_log_is_append_only(statement):
    WarehouseFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_truncate_refused_without_the_test_only_session_setting():
    WarehouseFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL spmis.audit_truncate = ''")
        cursor.execute("TRUNCATE geo_auditevent")


def test_api_writes_are_attributed_to_the_token_user(client_for, two_districts):
    client = client_for(roles=["logistics_officer"])
    response = client.post(
        "/api/v1/distribution/warehouses/",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [90.5, 23.5]},
            "properties": {"code": "WH-API", "name": "By API"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.get(table_name="distribution_warehouse", action="insert")
    assert (event.actor, event.source) == (f"user:{client.user.username}", "api")


def test_audit_api_is_read_only_and_limited_to_auditors(client_for):
    WarehouseFactory()
    auditor = client_for(roles=["auditor"])
    listing = auditor.get("/api/v1/geo/audit-events/?table=distribution_warehouse")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    event_id = listing.json()["results"][0]["id"]
    assert auditor.delete(f"/api/v1/geo/audit-events/{event_id}/").status_code in (403, 405)
    assert auditor.put(f"/api/v1/geo/audit-events/{event_id}/", {"actor": "x"}).status_code in (403, 405)
    assert AuditEvent.objects.get(pk=event_id).actor.startswith("db:")
    assert client_for(roles=["logistics_officer"]).get("/api/v1/geo/audit-events/").status_code == 403
    assert client_for(UserFactory()).get("/api/v1/geo/audit-events/").status_code == 403


def test_an_auditor_bound_to_areas_never_reads_personal_values_in_the_audit_api(client_for, two_districts):
    # The log has no area to check a row against, so the personal-data permission opens values to national users only.
    _, west, _ = two_districts
    HouseholdFactory(location=Point(90.5, 23.5, srid=4326), address="Old road 1")
    url = "/api/v1/geo/audit-events/?table=registry_household"
    national = client_for(roles=["auditor", "program_officer"]).get(url).json()["results"][0]
    assert national["values_withheld"] is False and national["after"]["address"] == "Old road 1"
    bound = client_for(roles=["auditor", "program_officer"], areas=[west]).get(url).json()["results"][0]
    assert bound["values_withheld"] is True and bound["after"] is None and bound["before"] is None
