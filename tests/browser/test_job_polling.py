"""A page that polls a job stops at its deadline and says so, instead of spinning for ever (here: an analysis whose
worker never picks it up)."""

from __future__ import annotations

import os

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from response.models import ExposureRun
from tests.response.factories import HazardZoneFactory, IncidentFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_map_stops_waiting_for_an_analysis_at_the_deadline_and_says_so(sign_in, live_server, settings, monkeypatch):
    settings.SPMIS = {**settings.SPMIS, "JOB_POLL_DEADLINE_S": 3}
    monkeypatch.setattr("spmis.core.tasks._send", lambda name, job_id: None)  # no worker takes the job
    page = sign_in("coordinator")
    incident = IncidentFactory(name="Stalled analysis")
    HazardZoneFactory(incident=incident, geom=MultiPolygon(Polygon.from_bbox((90.2, 23.6, 90.5, 23.9)), srid=4326))

    page.goto(f"{live_server.url}/map/?incident={incident.pk}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("body", "data-job-poll-deadline-s") == "3"
    page.click("#run-analysis")

    message = page.wait_for_selector("#run-error:not(:empty)", timeout=30_000).inner_text()
    assert "Still pending after 3 seconds: the page stopped waiting" in message
    assert page.is_enabled("#run-analysis")  # the person can try again
    assert ExposureRun.objects.get(incident=incident).status == ExposureRun.Status.PENDING
