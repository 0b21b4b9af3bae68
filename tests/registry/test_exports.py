"""Registry exports: booleans as the words true/false, and no temporary folder left behind."""

from __future__ import annotations

import csv
import io
import tempfile

import pytest
from django.contrib.gis.geos import Point

from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_individuals_csv_writes_booleans_as_words(two_districts, client_for):
    home = HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    MembershipFactory(household=home, individual=IndividualFactory(disability=True, is_pregnant=False))
    response = client_for(roles=["program_officer"]).get("/api/v1/registry/individuals/export/")
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["disability"], row["is_pregnant"], row["is_lactating"]) == ("true", "false", "false")


def test_household_gpkg_removes_its_temporary_folder_once_sent(two_districts, client_for, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    response = client_for(roles=["program_officer"]).get("/api/v1/registry/households/export/", {"file": "gpkg"})
    assert response.status_code == 200 and list(tmp_path.iterdir())
    assert b"".join(response.streaming_content)[:16] == b"SQLite format 3\x00"
    assert list(tmp_path.iterdir()) == []
