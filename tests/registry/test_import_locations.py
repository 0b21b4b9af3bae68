"""Registry import: impossible coordinates and points outside every area are rejected by row, with the reason."""

import csv
import io

import pytest

from registry.importing import ImportOptions, registry_import_file, rows_to_csv
from registry.models import Household

pytestmark = pytest.mark.django_db

HEADER = ["hh", "person", "first", "last", "dob", "sex", "lon", "lat"]
MAPPING = {
    "household_id": "hh",
    "individual_id": "person",
    "given_name": "first",
    "family_name": "last",
    "birth_date": "dob",
    "longitude": "lon",
    "latitude": "lat",
}


def run(tmp_path, rows):
    path = tmp_path / "people.csv"
    path.write_text(rows_to_csv(HEADER, rows))
    report = io.BytesIO()
    result = registry_import_file(path=path, options=ImportOptions(source="s", mapping=MAPPING), report=report)
    return result, {r["row"]: r["reasons"] for r in csv.DictReader(io.StringIO(report.getvalue().decode()))}


def test_points_outside_the_valid_range_or_every_area_are_rejected_by_row(tmp_path, two_districts):
    result, reasons = run(
        tmp_path,
        [
            ["H1", "P1", "Ana", "Roy", "1990-01-01", "F", "90.5", "23.5"],  # in the west district
            ["H2", "P2", "Bo", "Roy", "1990-01-01", "M", "90.5", "95"],  # latitude 95
            ["H3", "P3", "Cy", "Roy", "1990-01-01", "M", "23.5", "90.5"],  # swapped
            ["H4", "P4", "Di", "Roy", "1990-01-01", "F", "10.0", "10.0"],  # valid, but in no area
        ],
    )
    assert (result.valid_rows, result.rejected_rows) == (1, 3)
    assert "latitude -90..90" in reasons["3"] and "latitude -90..90" in reasons["4"]
    assert "outside every area" in reasons["5"]
    assert list(Household.objects.values_list("external_id", flat=True)) == ["H1"]


def test_without_any_areas_loaded_points_are_not_checked_against_them(tmp_path):
    result, reasons = run(tmp_path, [["H1", "P1", "Ana", "Roy", "1990-01-01", "F", "10.0", "10.0"]])
    assert (result.valid_rows, result.rejected_rows) == (1, 0), reasons
