"""A job task for the real-worker tests of the job runner: imported into test workers only (`celery worker -I`)."""

import os
import time

from celery import shared_task

from geo.models import AreaImport
from spmis.core.jobs import JobOutcome, run_job


@shared_task(name="tests.slow_job")
def slow_job_task(job_id: int) -> str:
    def work(job: AreaImport, progress) -> JobOutcome:
        seconds = job.parameters.get("sleep", 0)
        for step in range(int(seconds * 10)):
            progress(step, "sleeping")
            time.sleep(0.1)
        return JobOutcome(result={"slept": seconds, "pid": os.getpid()})

    return run_job(AreaImport, job_id, work, error_field="file").status
