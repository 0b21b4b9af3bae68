"""Job progress is written where pollers can see it, and never stalls or fails the job."""

import time

import psycopg
import pytest
from django.db import connection, transaction

from geo.models import AreaImport
from spmis.core.audit import audit_context
from spmis.core.jobs import ProgressWriter
from spmis.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def poll(job_id: int) -> tuple[int, str]:
    """What another process (the API answering a poll) sees."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        return other.execute("SELECT progress, message FROM geo_areaimport WHERE id = %s", [job_id]).fetchone()


def test_progress_is_visible_while_the_job_transaction_is_open():
    job = AreaImport.objects.create(file="x.geojson", original_name="x.geojson")
    with transaction.atomic(), ProgressWriter("geo_areaimport", job.pk) as progress:
        AreaImport.objects.create(file="y.geojson", original_name="y.geojson")  # the job's own, uncommitted work
        progress(40, "Half way")
        assert poll(job.pk) == (40, "Half way")
        progress(140, "x" * 300)
        assert poll(job.pk) == (100, "x" * 255)


def test_a_row_locked_by_the_job_itself_does_not_stall_it():
    job = AreaImport.objects.create(file="x.geojson", original_name="x.geojson")
    with transaction.atomic(), ProgressWriter("geo_areaimport", job.pk) as progress:
        AreaImport.objects.filter(pk=job.pk).update(message="locked by the job")
        started = time.monotonic()
        progress(10, "blocked")
        progress(20, "gives up at once")
        assert time.monotonic() - started < 5
    assert poll(job.pk) == (0, "locked by the job")


def test_progress_writes_keep_the_callers_audit_attribution():
    job = AreaImport.objects.create(file="x.geojson", original_name="x.geojson")
    with (
        audit_context(actor="task:geo.area_import", source="task"),
        ProgressWriter("geo_areaimport", job.pk) as progress,
    ):
        progress(50, "Half way")
    event = AuditEvent.objects.filter(table_name="geo_areaimport", action="update").get()
    assert (event.actor, event.source) == ("task:geo.area_import", "task")
