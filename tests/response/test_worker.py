"""An exposure run through a real Redis broker and Celery worker process: the task takes only the run id, and the
worker reports progress on its side connection while the analysis transaction is open."""

import datetime

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from response.models import ExposureResult, ExposureRun
from response.services import exposure_run_start
from tests.factories import AreaFactory, HouseholdFactory
from tests.platform.test_worker import redis_url, worker  # noqa: F401  (fixtures)
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_exposure_run_in_a_real_worker(worker, monkeypatch):  # noqa: F811
    AreaFactory(code="WX", geom=MultiPolygon(Polygon.from_bbox((90.0, 23.0, 91.0, 24.0))))
    incident = IncidentFactory(started_on=datetime.date(2026, 7, 1))
    HazardZoneFactory(incident=incident, geom=MultiPolygon(Polygon.from_bbox((90.2, 23.2, 90.4, 23.4)), srid=4326))
    inside = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    HouseholdFactory(location=Point(90.8, 23.8, srid=4326))
    # The web process only queues; here the queueing is done by hand, through the broker.
    monkeypatch.setattr("spmis.core.tasks._send", lambda name, run_id: None)
    run = exposure_run_start(incident=incident, user=None)

    outcome = worker.send_task("response.exposure_run", args=[run.pk]).get(timeout=120)

    run.refresh_from_db()
    assert (outcome, run.status, run.progress) == ("succeeded", ExposureRun.Status.SUCCEEDED, 100)
    assert list(ExposureResult.objects.filter(run=run).values_list("household_id", flat=True)) == [inside.id]
