"""Payments across real processes: real Celery workers over a real Redis, a real bank (mock-bank) on loopback.

- A worker is killed (SIGKILL) after the bank took a file and before the answer was stored. The redelivered task is
  taken over by a second worker, which asks the bank, finds the file, and stores it: the bank holds one file (one
  POST, one MsgId), every payment is sent once, nothing is lost.
- A worker is killed in the middle of preparing a batch: none of its payments remain; the redelivered task makes
  them once, and a further delivery makes nothing.
- Two workers release the same batch at once (the task delivered twice): one set of files.
"""

from __future__ import annotations

import os
import signal

import pytest
from celery import Celery
from celery.result import allow_join_result
from django.db import connection

from programs.payments.models import Payment, PaymentBatch, PaymentBatchRun, PaymentEvent, PaymentFile
from programs.payments.services.batches import batch_run_execute
from tests.platform.test_job_runner_worker import FAST_CLOCKS, wait_for
from tests.platform.test_worker import redis_url, spawn_worker  # noqa: F401  (fixture)
from tests.programs.payments_setup import mock_bank_world
from tests.programs.test_payment_ledger import assert_balanced

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bank_world(flood, mock_bank, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)  # the workers write and read files under the same MEDIA_ROOT
    world = mock_bank_world(flood, mock_bank)
    return world


def _batch(world) -> PaymentBatch:
    return PaymentBatch.objects.create(
        cycle=world.cycle,
        program=world.cycle.program,
        fsp=world.fsp,
        currency="BDT",
        execution_date=world.cycle.starts_on.today(),
        max_per_file=3,
        prepared_by=world.officer,
    )


def _stop(*processes) -> None:
    for process in processes:
        if process and process.poll() is None:
            process.terminate()
            process.wait(20)


def test_a_worker_killed_between_file_sent_and_status_stored_sends_nothing_twice(
    bank_world,
    mock_bank,
    redis_url,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    world = bank_world
    batch = _batch(world)
    batch_run_execute(run_id=PaymentBatchRun.objects.create(batch=batch, kind="prepare", created_by=world.officer).pk)
    release = PaymentBatchRun.objects.create(batch=batch, kind="release", created_by=world.finance)
    assert batch_run_execute(run_id=release.pk).status == "succeeded"
    send = PaymentBatchRun.objects.create(batch=batch, kind="send", created_by=world.finance)
    paused = {**FAST_CLOCKS, "SPMIS_TEST_PAYMENT_STORE_PAUSE_S": "30"}
    first = spawn_worker(redis_url, tmp_path, env=paused, name="first")
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    second = None
    try:
        with allow_join_result():
            client.send_task("programs.payment_batch_run", args=[send.pk])
            # The bank has the first file; the worker sleeps before storing the answer. Kill it there.
            wait_for(lambda: mock_bank.file_posts() >= 1, timeout=90, what="the first file to reach the bank")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            files = list(PaymentFile.objects.filter(batch=batch).order_by("sequence"))
            assert [f.status for f in files] == ["sending", "validated", "validated"]
            assert not PaymentEvent.objects.filter(status="sent").exists()

            second = spawn_worker(redis_url, tmp_path, env=FAST_CLOCKS, name="second")
            wait_for(
                lambda: PaymentBatchRun.objects.filter(pk=send.pk, status="succeeded").exists(),
                timeout=240,
                what="the redelivered send to finish",
            )
        send.refresh_from_db()
        assert send.attempts == 2
        # One POST per file: the first file was found by asking the bank, never sent again, never with a new MsgId.
        assert mock_bank.file_posts() == 3
        msg_ids = [f.msg_id for f in PaymentFile.objects.filter(batch=batch).order_by("sequence")]
        assert msg_ids == [f"{batch.code}-A1-F00{n}" for n in (1, 2, 3)]
        assert set(PaymentFile.objects.filter(batch=batch).values_list("status", flat=True)) == {"submitted"}
        assert PaymentEvent.objects.filter(status="sent").count() == 8
        assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"sent"}
        # A further delivery of the task finds the run finished and sends nothing.
        batch_run_execute(run_id=send.pk)
        assert mock_bank.file_posts() == 3
        assert_balanced(batch_ids=[batch.pk])
    finally:
        client.close()
        _stop(first, second)


def test_a_killed_preparation_is_finished_once_and_a_redelivery_makes_nothing(
    bank_world,
    redis_url,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    world = bank_world
    batch = _batch(world)
    run = PaymentBatchRun.objects.create(batch=batch, kind="prepare", created_by=world.officer)
    slow = {**FAST_CLOCKS, "SPMIS_TEST_PAYMENT_CHUNK_S": "1"}
    first = spawn_worker(redis_url, tmp_path, env=slow, name="first")
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    second = None
    try:
        with allow_join_result():
            client.send_task("programs.payment_batch_run", args=[run.pk])
            wait_for(
                lambda: PaymentBatchRun.objects.filter(pk=run.pk, status="running", progress__gt=5).exists(),
                timeout=90,
                what="the first worker to write a part of the batch",
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            # The killed worker's transaction died with it.
            assert not Payment.objects.filter(batch=batch).exists()
            second = spawn_worker(redis_url, tmp_path, env=slow, name="second")
            wait_for(
                lambda: PaymentBatchRun.objects.filter(pk=run.pk, status="succeeded").exists(),
                timeout=240,
                what="the redelivered preparation to finish",
            )
            # Delivered twice more (Redis may deliver twice): nothing more is made.
            client.send_task("programs.payment_batch_run", args=[run.pk])
            client.send_task("programs.payment_batch_run", args=[run.pk])
        batch_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.attempts == 2 and run.result["payments"] == 8
        payments = Payment.objects.filter(batch=batch)
        assert payments.count() == 8 and payments.values("entitlement").distinct().count() == 8
        batch.refresh_from_db()
        assert batch.status == "prepared" and str(batch.payment_sum) == "58000.000"
        assert_balanced(batch_ids=[batch.pk])
    finally:
        client.close()
        _stop(first, second)


def test_two_workers_releasing_the_same_batch_at_once_write_one_set_of_files(
    bank_world,
    redis_url,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    world = bank_world
    batch = _batch(world)
    batch_run_execute(run_id=PaymentBatchRun.objects.create(batch=batch, kind="prepare", created_by=world.officer).pk)
    release = PaymentBatchRun.objects.create(batch=batch, kind="release", created_by=world.finance)
    workers = [spawn_worker(redis_url, tmp_path, env=FAST_CLOCKS, name=f"w{n}") for n in (1, 2)]
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    try:
        with allow_join_result():
            for _ in range(2):  # the same task twice, taken by two workers at once
                client.send_task("programs.payment_batch_run", args=[release.pk])
            wait_for(
                lambda: PaymentBatchRun.objects.filter(pk=release.pk, status="succeeded").exists(),
                timeout=120,
                what="the release to finish",
            )
        # A second release of a released batch is refused by the database while one runs, and by the service after.
        files = PaymentFile.objects.filter(batch=batch)
        assert files.count() == 3 and set(files.values_list("attempt", flat=True)) == {1}
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT msg_id) FROM programs_paymentfile WHERE batch_id = %s", [batch.pk])
            assert cursor.fetchone()[0] == 3
        on_disk = sorted(p.name for p in (tmp_path / "payments" / batch.code).iterdir())
        assert on_disk == sorted(f.name for f in files)
        batch.refresh_from_db()
        assert batch.status == "released" and batch.released_by_id == world.finance.pk
    finally:
        client.close()
        _stop(*workers)
