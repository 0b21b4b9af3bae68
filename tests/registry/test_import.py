import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from registry.importing import ImportOptions, registry_import_file, rows_to_csv
from registry.models import CustomField, Household, IdDocument, Individual, Membership, Phone
from spmis.core.models import AuditEvent
from tests.registry.factories import CustomFieldFactory, IdTypeFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "hh",
    "person",
    "first",
    "last",
    "dob",
    "sex",
    "role",
    "mobile",
    "id_type",
    "id_number",
    "lon",
    "lat",
    "area_code",
    "wg_walking",
    "livelihood",
]
MAPPING = {
    "household_id": "hh",
    "individual_id": "person",
    "given_name": "first",
    "family_name": "last",
    "birth_date": "dob",
    "phone": "mobile",
    "longitude": "lon",
    "latitude": "lat",
    "custom.livelihood": "livelihood",
}
GOOD = [
    [
        "HH1",
        "P1",
        "Rahim",
        "Uddin",
        "1980-02-29",
        "M",
        "head",
        "01712345678",
        "nid",
        "1234567890",
        "90.5",
        "23.5",
        "",
        "1",
        "fishing",
    ],
    [
        "HH1",
        "P2",
        "Fatema",
        "Begum",
        "1985-06-01",
        "F",
        "spouse",
        "+880 1812-345678",
        "",
        "",
        "",
        "",
        "",
        "3",
        "farming",
    ],
    ["HH2", "P3", "José", "Núñez", "2001-01-01", "m", "head", "", "", "", "", "", "C-E", "", "fishing"],
]
BAD = [
    ["HH3", "P4", "", "Khan", "31/02/2020", "Q", "boss", "12", "nid", "12", "", "", "NOPE", "7", "mining"],
    ["HH1", "P5", "Karim", "Uddin", "2010-02-30", "M", "child", "", "nid", "1234567890", "", "", "", "", ""],
]


def write_csv(tmp_path, rows, name="people.csv"):
    path = tmp_path / name
    path.write_text(rows_to_csv(HEADER, rows))
    return path


@pytest.fixture
def setup_registry(two_districts):
    IdTypeFactory()
    CustomFieldFactory(name="livelihood", type=CustomField.Type.CHOICE, choices=["fishing", "farming"])
    return two_districts


def run(path, report=None):
    return registry_import_file(path=path, options=ImportOptions(source="survey", mapping=MAPPING), report=report)


def test_csv_import_validates_every_row_and_merges_the_valid_ones(tmp_path, setup_registry):
    _, west, east = setup_registry
    report = io.BytesIO()
    result = run(write_csv(tmp_path, GOOD + BAD), report)
    assert (result.rows, result.valid_rows, result.rejected_rows) == (5, 3, 2)
    assert (result.households_created, result.individuals_created) == (2, 3)

    head = Individual.objects.get(external_id="P1")
    assert head.memberships.get().household.area_id == west.id
    assert Phone.objects.get(individual=head).number == "+8801712345678"
    assert Phone.objects.get(individual__external_id="P2").number == "+8801812345678"
    assert IdDocument.objects.get(individual=head).number == "1234567890"
    assert Individual.objects.get(external_id="P2").disability is True
    assert Individual.objects.get(external_id="P3").sex == "M"
    assert head.custom == {"livelihood": "fishing"}
    approximate = Household.objects.get(external_id="HH2")
    assert (approximate.area_id, approximate.location_precision, approximate.area_approximate) == (
        east.id,
        "area",
        True,
    )

    rows = list(csv.DictReader(io.StringIO(report.getvalue().decode())))
    assert [r["row"] for r in rows] == ["5", "6"]
    reasons = rows[0]["reasons"]
    for expected in (
        "missing field given_name",
        "bad date birth_date '31/02/2020'",
        "bad value sex 'Q'",
        "bad value role 'boss'",
        "invalid phone '12'",
        "does not match the format of National ID",
        "unknown area code 'NOPE'",
        "bad value wg_walking '7'",
        "bad value custom.livelihood 'mining'",
    ):
        assert expected in reasons
    assert "bad date birth_date '2010-02-30'" in rows[1]["reasons"]
    assert "duplicate ID nid 1234567890 (also on row 2)" in rows[1]["reasons"]


def test_reimport_changes_nothing_and_a_corrected_file_updates_in_place(tmp_path, setup_registry):
    path = write_csv(tmp_path, GOOD)
    run(path)
    ids = dict(Individual.objects.values_list("external_id", "registrant_id"))
    events = AuditEvent.objects.count()

    again = run(path)
    assert (again.households_unchanged, again.individuals_unchanged) == (2, 3)
    assert (again.households_updated, again.individuals_updated, again.memberships_opened) == (0, 0, 0)
    assert AuditEvent.objects.count() == events

    corrected = [row[:] for row in GOOD]
    corrected[2][2] = "Jose"
    corrected[2][0] = "HH1"  # P3 moved into HH1
    corrected[2][6] = "child"
    result = run(write_csv(tmp_path, corrected, "corrected.csv"))
    assert (result.individuals_updated, result.individuals_unchanged) == (1, 2)
    assert (result.memberships_closed, result.memberships_opened) == (1, 1)
    moved = Individual.objects.get(external_id="P3")
    assert moved.given_name == "Jose"
    assert moved.registrant_id == ids["P3"]
    assert Membership.objects.get(individual=moved, end_date__isnull=True).household.external_id == "HH1"
    assert Individual.objects.count() == 3


def test_xlsx_and_geojson_households_with_members(tmp_path, setup_registry):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in GOOD:
        sheet.append(row)
    xlsx = tmp_path / "people.xlsx"
    book.save(xlsx)
    assert run(xlsx).individuals_created == 3

    geojson = tmp_path / "households.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [91.5, 23.5]},
        "properties": {
            "household_id": "HH9",
            "members": [
                {"individual_id": "P91", "given_name": "Amina", "role": "head", "birth_date": "1990-01-01"},
                {"individual_id": "P92", "given_name": "Rafiq", "role": "child"},
            ],
        },
    }
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    result = registry_import_file(path=geojson, options=ImportOptions(source="field"))
    assert (result.households_created, result.individuals_created) == (1, 2)
    assert Household.objects.get(external_id="HH9").memberships.count() == 2


def test_semicolon_separated_csv(tmp_path, setup_registry):
    path = tmp_path / "semicolons.csv"
    path.write_text(rows_to_csv(HEADER, GOOD).replace(",", ";"))
    assert run(path).individuals_created == 3


def test_unusable_file_is_refused_naming_the_field(tmp_path, setup_registry):
    from django.core.exceptions import ValidationError

    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValidationError) as error:
        registry_import_file(path=path, options=ImportOptions())
    assert "mapping" in error.value.message_dict
    with pytest.raises(ValidationError, match="given_name → First"):
        registry_import_file(path=path, options=ImportOptions(mapping={"given_name": "First"}))


def test_import_through_the_api_with_report_download(
    tmp_path, setup_registry, client_for, django_capture_on_commit_callbacks, settings
):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(roles=["program_officer"])
    upload = SimpleUploadedFile("people.csv", rows_to_csv(HEADER, GOOD + BAD).encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/registry/imports/",
            {"file": upload, "source": "survey", "mapping": json.dumps(MAPPING)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/registry/imports/{response.json()['id']}/").json()
    assert job["status"] == "succeeded", job
    assert job["result"]["rejected_rows"] == 2
    report = client.get(f"/api/v1/registry/imports/{job['id']}/report/")
    assert report.status_code == 200
    assert b"missing field given_name" in b"".join(report.streaming_content)
    # The mapping was saved for the source: the next upload needs none.
    again = SimpleUploadedFile("people.csv", rows_to_csv(HEADER, GOOD).encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post("/api/v1/registry/imports/", {"file": again, "source": "survey"}, format="multipart")
    assert client.get(f"/api/v1/registry/imports/{second.json()['id']}/").json()["result"]["individuals_unchanged"] == 3


def test_command_imports_and_writes_the_report(tmp_path, setup_registry):
    from django.core.management import call_command

    out = io.StringIO()
    report = tmp_path / "rejected.csv"
    call_command(
        "import_registry",
        str(write_csv(tmp_path, GOOD + BAD)),
        "--mapping",
        json.dumps(MAPPING),
        "--report",
        str(report),
        verbosity=0,
        stdout=out,
    )
    assert "3 imported, 2 rejected" in out.getvalue()
    assert "missing field given_name" in report.read_text()
