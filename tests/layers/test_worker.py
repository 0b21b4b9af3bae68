"""A layer import through a real Redis broker and Celery worker process (eager mode hides serialisation bugs)."""

import pytest

from layers.models import LayerImport, VectorFeature
from tests.layers.conftest import write_shapefile_zip
from tests.platform.test_worker import redis_url, worker  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_vector_import_runs_in_a_real_worker(worker, tmp_path, districts):  # noqa: F811
    # The worker's MEDIA_ROOT is tmp_path; the job names its upload relative to it.
    upload = write_shapefile_zip(districts, tmp_path, crs_epsg=32646)
    job = LayerImport.objects.create(
        kind="vector", file=upload.name, original_name=upload.name, parameters={"name": "Districts", "kind": "hazard"}
    )
    outcome = worker.send_task("layers.layer_import", args=[job.pk]).get(timeout=120)
    job.refresh_from_db()
    assert (outcome, job.status, job.progress) == ("succeeded", "succeeded", 100), job.error
    assert job.vector_layer.kind == "hazard" and job.vector_layer.source_crs == "EPSG:32646"
    assert VectorFeature.objects.filter(layer=job.vector_layer).count() == 64
    assert not upload.exists()
