"""The auditor's audit log: filters, a record's history with the columns each change touched, a streamed CSV of the
filtered rows, personal values withheld from those who may not read them; auditors and administrators only, and
nothing but reads."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from registry.models import Household
from spmis.core.audit import audit_context
from spmis.core.models import AuditEvent
from tests.factories import HouseholdFactory, UserFactory, WarehouseFactory
from tests.programs.conftest import response_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/accountability/audit-events/"


@pytest.fixture
def log(two_districts):
    """A warehouse and a household written by a named officer through the API, and a command's bulk change."""
    with audit_context(actor="user:amina", source="api"):
        warehouse = WarehouseFactory(code="WH-1")
        household = HouseholdFactory(location=Point(90.5, 23.5, srid=4326), address="Old road 1")
    with audit_context(actor="command:relocate", source="command"):
        Household.objects.filter(pk=household.pk).update(address="New road 2")
    return {"warehouse": warehouse, "household": household}


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_auditor_filters_by_actor_table_record_source_and_time(client_for, log):
    client = client_for(roles=["auditor"])
    by_amina = results(client.get(URL, {"actor": "amina"}))
    assert by_amina and {row["actor"] for row in by_amina} == {"user:amina"}
    assert {row["table_name"] for row in by_amina} >= {"distribution_warehouse", "registry_household"}
    household = log["household"]
    rows = results(client.get(URL, {"table": "registry_household", "row_id": household.pk}))
    assert [row["action"] for row in rows] == ["update", "insert"]  # newest first
    assert results(client.get(URL, {"source": "command"}))[0]["actor"] == "command:relocate"
    later = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert results(client.get(URL, {"since": later})) == []
    assert len(results(client.get(URL, {"until": later, "table": "distribution_warehouse"}))) == 1
    for params, field in [({"source": "fax"}, "source"), ({"row_id": "x"}, "row_id"), ({"since": "soon"}, "since")]:
        response = client.get(URL, params)
        assert response.status_code == 400 and field in response.json()


def test_a_records_history_names_the_changed_columns_and_withholds_personal_values(client_for, log):
    household = log["household"]
    params = {"table": "registry_household", "row_id": household.pk}
    auditor = client_for(roles=["auditor"])
    history = auditor.get(URL + "history/", params).json()
    assert [event["action"] for event in history["events"]] == ["insert", "update"]
    assert history["events"][1]["changed"] == ["address"] and history["exists_now"] is True
    admin = client_for(UserFactory(is_superuser=True))
    full = admin.get(URL + "history/", params).json()
    assert full["values_withheld"] is False and full["events"][1]["after"]["address"] == "New road 2"
    # An auditor bound to an area never reads personal values, whatever the permission (the log has no area).
    scoped = client_for(roles=["auditor", "program_officer"], areas=[two_area(household)])
    assert scoped.get(URL + "history/", params).json()["values_withheld"] is True
    warehouse = auditor.get(URL + "history/", {"table": "distribution_warehouse", "row_id": log["warehouse"].pk})
    assert warehouse.json()["events"][0]["after"]["code"] == "WH-1"
    assert "table" in auditor.get(URL + "history/", {"row_id": 1}).json()


def two_area(household):
    household.refresh_from_db()
    return household.area


def test_the_csv_export_streams_the_filtered_rows_oldest_first(client_for, log):
    client = client_for(roles=["auditor"])
    response = client.get(URL + "export/", {"actor": "amina"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.DictReader(io.StringIO(response_bytes(response).decode())))
    expected = AuditEvent.objects.filter(actor="user:amina").order_by("id")
    assert [int(row["id"]) for row in rows] == list(expected.values_list("id", flat=True))
    by_table = {row["table_name"]: row for row in rows}
    assert "WH-1" in by_table["distribution_warehouse"]["after"]
    assert by_table["registry_household"]["after"] == ""  # withheld: the auditor may not read personal data


def test_only_auditors_and_administrators_read_the_log_and_nobody_writes_it(client_for, log):
    for role in ("program_officer", "partner", "finance_officer"):
        assert client_for(roles=[role]).get(URL).status_code == 403
        assert client_for(roles=[role]).get(URL + "export/").status_code == 403
    assert client_for(UserFactory(is_superuser=True)).get(URL).status_code == 200
    auditor = client_for(roles=["auditor"])
    event = AuditEvent.objects.first()
    assert auditor.post(URL, {}).status_code in (403, 405)
    assert auditor.delete(f"{URL}{event.pk}/").status_code in (403, 405)
    assert auditor.get(f"{URL}{event.pk}/").json()["id"] == event.pk
    tables = auditor.get("/api/v1/accountability/audit-tables/").json()["tables"]
    assert {"distribution_warehouse", "registry_household"} <= set(tables) and tables == sorted(tables)


def test_pages_follow_a_cursor_without_counting(client_for, log):
    client = client_for(roles=["auditor"])
    first = client.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and "count" not in first and first["next"]
    second = client.get(first["next"]).json()
    assert second["results"][0]["id"] < first["results"][-1]["id"]
