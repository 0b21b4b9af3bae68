"""Exports of the affected list: booleans as the words true/false, and no temporary folder left behind."""

from __future__ import annotations

import csv
import io
import tempfile

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from response.services import exposure_run_start
from tests.factories import HouseholdFactory, square
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"


@pytest.fixture
def run(two_districts):
    incident = IncidentFactory()
    HazardZoneFactory(incident=incident, geom=square(90.2, 23.2, 0.2))
    HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    HouseholdFactory(location=None, area=two_districts[1], location_precision="area")  # approximate: the area only
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder for this test only, so what an export leaves behind can be seen."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_csv_writes_booleans_as_words(run, client_for):
    response = client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/export/?as=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["approximate"] for row in rows) == ["false", "true"]


@pytest.mark.parametrize("fmt", ["xlsx", "gpkg"])
def test_file_exports_remove_their_temporary_folder_once_sent(run, client_for, private_tmp, fmt):
    response = client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/export/?as={fmt}")
    assert response.status_code == 200
    assert list(private_tmp.iterdir()), "the file is written in a temporary folder while it is sent"
    content = b"".join(response.streaming_content)  # the test client closes the response after the last chunk
    assert len(content) > 1000
    assert list(private_tmp.iterdir()) == []
