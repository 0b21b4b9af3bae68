"""A registry import through a real Redis broker and Celery worker process (eager mode hides serialisation and
connection bugs, e.g. progress written on a second connection)."""

import pytest

from registry.importing import rows_to_csv
from registry.models import Individual, RegistryImport
from tests.platform.test_worker import redis_url, worker  # noqa: F401  (fixtures)
from tests.registry.test_import import BAD, GOOD, HEADER, MAPPING

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_registry_import_runs_in_a_real_worker(worker, tmp_path, two_districts):  # noqa: F811
    from tests.registry.factories import IdTypeFactory

    IdTypeFactory()
    upload = tmp_path / "people.csv"
    upload.write_text(rows_to_csv(HEADER, GOOD + BAD))
    job = RegistryImport.objects.create(
        file=upload.name,
        original_name=upload.name,
        source="survey",
        parameters={"source": "survey", "mapping": MAPPING},
    )
    outcome = worker.send_task("registry.import", args=[job.pk]).get(timeout=120)
    job.refresh_from_db()
    assert (outcome, job.status, job.progress) == ("succeeded", "succeeded", 100), job.error
    assert job.result["rejected_rows"] == 2 and job.report.name
    assert (tmp_path / job.report.name).read_text().count("\n") == 3  # header + two rejected rows
    assert Individual.objects.filter(external_id__in=["P1", "P2", "P3"]).count() == 3
