"""The job runner across real processes: a Celery worker killed in the middle of a job, the task redelivered by
Redis to a second worker, which takes the row over once the first worker's heartbeat is stale and finishes it once."""

import os
import signal
import time

import pytest
from celery import Celery
from celery.result import allow_join_result

from geo.models import AreaImport
from tests.platform.test_worker import redis_url, spawn_worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Short clocks so that the test takes seconds: Redis hands an unacknowledged task out again after the visibility
# timeout, and the runner takes a running row over when its heartbeat is older than the stale limit.
FAST_CLOCKS = {"CELERY_VISIBILITY_TIMEOUT_S": "4", "SPMIS_JOB_STALE_AFTER_S": "3", "SPMIS_JOB_HEARTBEAT_S": "1"}


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_a_killed_worker_s_job_is_redelivered_taken_over_and_finished_once(redis_url, tmp_path):  # noqa: F811
    job = AreaImport.objects.create(file="x", original_name="x", parameters={"sleep": 4})
    first = spawn_worker(redis_url, tmp_path, env=FAST_CLOCKS, name="first")
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    second = None
    try:
        with allow_join_result():
            client.send_task("tests.slow_job", args=[job.pk])
            wait_for(
                lambda: AreaImport.objects.filter(pk=job.pk, status="running", progress__gt=0).exists(),
                timeout=60,
                what="the first worker to start the job",
            )
            os.kill(first.pid, signal.SIGKILL)  # mid-job: no acknowledgement, no outcome
            first.wait(10)
            job.refresh_from_db()
            assert (job.status, job.attempts) == ("running", 1)

            second = spawn_worker(redis_url, tmp_path, env=FAST_CLOCKS, name="second")
            wait_for(
                lambda: AreaImport.objects.filter(pk=job.pk, status="succeeded").exists(),
                # Redis restores unacknowledged messages on a 10-second cycle once the visibility timeout passed;
                # a loaded machine also takes a while to start a worker.
                timeout=240,
                what="the redelivered task to finish the job",
            )
        job.refresh_from_db()
        assert job.attempts == 2
        assert job.result == {"slept": 4, "pid": second.pid}
    finally:
        client.close()
        for process in (first, second):
            if process and process.poll() is None:
                process.terminate()
                process.wait(20)
