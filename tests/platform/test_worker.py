"""One task through a real Redis broker and a real Celery worker process: eager mode hides serialisation, settings
and database-connection mistakes that only show across processes."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from celery import Celery
from celery.result import allow_join_result
from django.conf import settings
from django.db import connection

from geo.models import Area, AreaImport
from spmis.core.models import AuditEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url():
    configured = os.environ.get("CELERY_BROKER_URL")
    if configured:
        yield configured
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make bootstrap`.")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def spawn_worker(redis_url: str, tmp_path, *, env: dict | None = None, name: str = "worker") -> subprocess.Popen:
    """A real Celery worker process on the test database (solo pool: the task runs in the process we may kill).
    The test-only job task of tests/platform/jobs_for_tests.py is imported into it as well."""
    db = connection.settings_dict
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spmis.settings.test",
        "CELERY_BROKER_URL": redis_url,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(tmp_path),
        **(env or {}),
    }
    with (tmp_path / f"{name}.log").open("a") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "spmis",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--include",
                "tests.platform.jobs_for_tests",
                "--hostname",
                f"{name}-{time.monotonic_ns()}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def worker(redis_url, tmp_path):
    process = spawn_worker(redis_url, tmp_path)
    # A separate client app sends tasks by name, as the web process does in production; the test process's own app
    # stays eager for the rest of the suite.
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    client.worker_pid = process.pid
    try:
        # Eager tasks run elsewhere in this process (e.g. on live-server threads) flip Celery's process-wide
        # "inside a task" flag and can leave it set; the test itself waits for results as a client, not a task.
        with allow_join_result():
            yield client
    finally:
        client.close()
        process.terminate()
        process.wait(20)


def test_task_runs_in_a_real_worker_through_redis(worker, tmp_path, settings):
    reply = worker.send_task("spmis.ping", args=["hello"]).get(timeout=60)
    assert reply["payload"] == "hello" and reply["pid"] == worker.worker_pid

    # A database job: the worker reads the uploaded file and writes areas into the same test database.
    settings.MEDIA_ROOT = tmp_path
    upload = tmp_path / "country.geojson"
    upload.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "WK", "name": "Worker land"},
                        "geometry": {"type": "Polygon", "coordinates": [[[90, 23], [91, 23], [91, 24], [90, 23]]]},
                    }
                ],
            }
        )
    )
    job = AreaImport.objects.create(file=upload.name, original_name=upload.name, parameters={"level": 0})
    outcome = worker.send_task("geo.area_import", args=[job.pk]).get(timeout=60)
    job.refresh_from_db()
    assert (outcome, job.status, job.progress) == ("succeeded", "succeeded", 100)
    area = Area.objects.get(code="WK")
    assert area.name == "Worker land"
    # The worker's writes are attributed to the task in the audit log.
    event = AuditEvent.objects.get(table_name="geo_area", row_id=area.id, action="insert")
    assert (event.actor, event.source) == ("task:geo.area_import", "task")
