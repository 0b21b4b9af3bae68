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


def _slow_entitlement_chunks() -> None:
    """With SPMIS_TEST_ENTITLEMENT_CHUNK_S set, entitlement generation pauses after each chunk, so that a test can
    kill the worker in the middle of it (tests/programs/test_generation_worker.py)."""
    pause = float(os.environ.get("SPMIS_TEST_ENTITLEMENT_CHUNK_S") or 0)
    if not pause:
        return
    from programs.services import cycles

    write = cycles.write_entitlements

    def slow_write(cursor, cycle, progress=None):
        def slow_progress(percent: int, message: str) -> None:
            if progress is not None:
                progress(percent, message)
            time.sleep(pause)

        return write(cursor, cycle, slow_progress)

    cycles.write_entitlements = slow_write


_slow_entitlement_chunks()


def _slow_payment_steps() -> None:
    """With SPMIS_TEST_PAYMENT_CHUNK_S, a batch's preparation pauses after each part (a test kills the worker in the
    middle of it); with SPMIS_TEST_PAYMENT_STORE_PAUSE_S, sending pauses after the provider took a file and before
    its answer is stored: the window between "file sent" and "status stored" (tests/programs/test_payment_worker.py)."""
    chunk = float(os.environ.get("SPMIS_TEST_PAYMENT_CHUNK_S") or 0)
    store = float(os.environ.get("SPMIS_TEST_PAYMENT_STORE_PAUSE_S") or 0)
    if chunk:
        from programs.payments.services import batches

        prepare = batches._prepare

        def slow_prepare(run, progress):
            def slow_progress(percent: int, message: str) -> None:
                progress(percent, message)
                time.sleep(chunk)

            return prepare(run, slow_progress)

        batches._prepare = slow_prepare
    if store:
        from programs.payments.services import sending

        store_receipt = sending.store_receipt

        def slow_store(file, receipt, actor):
            time.sleep(store)
            return store_receipt(file, receipt, actor)

        sending.store_receipt = slow_store


_slow_payment_steps()
