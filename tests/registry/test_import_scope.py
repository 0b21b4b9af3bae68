"""A registry import acts as the user who uploaded it: rows outside their areas are rejected with the reason, the
uploaded file is deleted after the job whatever the outcome, and imports and dedup runs are seen by area."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.importing import rows_to_csv
from registry.models import DedupRun, Household, Individual, RegistryImport
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory
from tests.registry.test_import import HEADER, MAPPING, setup_registry  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/registry/imports/"


def row(hh, person, first, lon="", lat="", area=""):
    return [hh, person, first, "Uddin", "1980-01-01", "M", "head", "", "", "", lon, lat, area, "", "fishing"]


@pytest.fixture
def west_officer(client_for, setup_registry, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    return client_for(UserFactory(username="west.officer", roles=["program_officer"], areas=[setup_registry[1]]))


def upload(client, rows, capture):
    data = rows_to_csv(HEADER, rows).encode()
    with capture(execute=True):
        response = client.post(
            URL,
            {"file": SimpleUploadedFile("people.csv", data), "source": "survey", "mapping": json.dumps(MAPPING)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    return RegistryImport.objects.get(pk=response.json()["id"])


def report_reasons(client, job) -> dict[str, str]:
    response = client.get(f"{URL}{job.pk}/report/")
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    return {r["person"]: r["reasons"] for r in rows}


def test_rows_outside_the_importers_areas_are_rejected_with_the_reason(
    west_officer, client_for, django_capture_on_commit_callbacks
):
    east_home = HouseholdFactory(external_id="EAST-1", location=Point(91.5, 23.5, srid=4326))
    moved = IndividualFactory(external_id="P-EAST", given_name="Salma")
    MembershipFactory(household=east_home, individual=moved)
    rows = [
        row("W1", "P1", "Rahim", "90.5", "23.5"),  # in the west district: imported
        row("E2", "P2", "Karim", "91.5", "23.5"),  # a point in the east district
        row("E3", "P3", "Jamal", area="C-E"),  # an area code in the east district
        row("X1", "P4", "Nasir", "10.0", "10.0"),  # in no area at all
        row("EAST-1", "P5", "Selim", "90.4", "23.4"),  # would move an east household into the west
        row("W1", "P-EAST", "Salma"),  # would take a person out of an east household
    ]
    job = upload(west_officer, rows, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    assert (job.result["valid_rows"], job.result["rejected_rows"]) == (1, 5)
    reasons = report_reasons(west_officer, job)
    assert "is in C-E, outside your areas" in reasons["P2"]
    assert "area C-E (row 4) is outside your areas" in reasons["P3"]
    assert "in no known area, outside your areas" in reasons["P4"]
    assert "registered outside your areas (in C-E)" in reasons["P5"]
    assert "belongs to household EAST-1 outside your areas" in reasons["P-EAST"]
    assert list(Household.objects.filter(external_id__in=["W1", "E2", "E3", "X1"]).values_list("external_id")) == [
        ("W1",)
    ]
    assert Household.objects.get(external_id="EAST-1").location.x == pytest.approx(91.5)
    assert moved.memberships.get().household_id == east_home.pk and moved.memberships.get().end_date is None
    assert not Individual.objects.filter(external_id__in=["P2", "P3", "P4", "P5"]).exists()

    national = client_for(roles=["program_officer"])
    national_job = upload(national, [row("E2", "P2", "Karim", "91.5", "23.5")], django_capture_on_commit_callbacks)
    assert national_job.result["valid_rows"] == 1


def test_the_uploaded_file_is_deleted_after_the_job_whatever_the_outcome(
    west_officer, django_capture_on_commit_callbacks, tmp_path
):
    good = upload(west_officer, [row("W1", "P1", "Rahim", "90.5", "23.5")], django_capture_on_commit_callbacks)
    failed = upload(west_officer, [], django_capture_on_commit_callbacks)  # a header and no rows
    assert (good.status, failed.status) == ("succeeded", "failed")
    for job in (good, failed):
        assert job.file.name == ""
    stored = [p for p in Path(tmp_path).rglob("*") if p.is_file() and "registry-imports/reports" not in str(p)]
    assert stored == []


def test_imports_and_dedup_runs_are_seen_by_area(
    west_officer,
    client_for,
    two_districts,
    django_capture_on_commit_callbacks,
):
    _, west, east = two_districts
    job = upload(west_officer, [row("W1", "P1", "Rahim", "90.5", "23.5")], django_capture_on_commit_callbacks)
    DedupRun.objects.create(created_by=west_officer.user)
    colleague = client_for(roles=["program_officer"], areas=[west])
    other = client_for(roles=["program_officer"], areas=[east])
    national = client_for(roles=["program_officer"])
    assert [j["id"] for j in colleague.get(URL).json()["results"]] == [job.pk]
    assert other.get(URL).json()["results"] == []
    assert other.get(f"{URL}{job.pk}/report/").status_code == 404
    assert [j["id"] for j in national.get(URL).json()["results"]] == [job.pk]
    assert len(colleague.get("/api/v1/registry/dedup-runs/").json()["results"]) == 1
    assert other.get("/api/v1/registry/dedup-runs/").json()["results"] == []
    auditor = client_for(roles=["auditor"])
    seen = auditor.get(f"{URL}{job.pk}/")
    assert seen.status_code == 200 and "errors_sample" not in seen.json()["result"]
    assert "errors_sample" in national.get(f"{URL}{job.pk}/").json()["result"]
    assert auditor.get(f"{URL}{job.pk}/report/").status_code == 403


@pytest.mark.usefixtures("setup_registry")
def test_moves_and_new_phones_of_existing_people_need_a_second_user(
    client_for,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    settings.MEDIA_ROOT = tmp_path
    officer = client_for(roles=["program_officer"])
    first = [
        row("HH1", "P1", "Rahim", "90.5", "23.5"),
        row("HH2", "P2", "Karim", "90.6", "23.6"),
    ]
    first[0][7] = "01712345678"
    assert upload(officer, first, django_capture_on_commit_callbacks).result["valid_rows"] == 2
    changed = [
        row("HH1", "P1", "Rahim", "90.7", "23.7"),  # the household moved
        row("HH1", "P2", "Karim"),  # Karim moved into HH1
    ]
    changed[0][7] = "01812345678"  # and Rahim has a new phone
    job = upload(officer, changed, django_capture_on_commit_callbacks)
    reasons = report_reasons(officer, job)
    assert "household 'HH1' would move to 90.7, 23.7: that needs a change request" in reasons["P1"]
    assert "individual 'P1' would get a new phone number" in reasons["P1"]
    assert "individual 'P2' would move from household HH2 to HH1" in reasons["P2"]
    assert Household.objects.get(external_id="HH1").location.x == pytest.approx(90.5)
    assert Individual.objects.get(external_id="P2").memberships.get(end_date__isnull=True).household.external_id == (
        "HH2"
    )
    # Unchanged rows of the same people still go through.
    again = upload(officer, first, django_capture_on_commit_callbacks)
    assert (again.result["rejected_rows"], again.result["individuals_unchanged"]) == (0, 2)

    administrator = client_for(roles=["administrator"])
    applied = upload(administrator, changed, django_capture_on_commit_callbacks)
    assert applied.result["rejected_rows"] == 0
    assert Household.objects.get(external_id="HH1").location.x == pytest.approx(90.7)
