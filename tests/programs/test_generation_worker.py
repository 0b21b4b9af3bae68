"""Entitlement generation across real processes: the worker is killed in the middle of writing a cycle's
entitlements, Redis redelivers the task to a second worker, which finishes the job once; a task delivered again
after that writes nothing. The entitlements exist exactly once, and none of the killed worker's rows remain."""

import os
import signal

import pytest
from celery import Celery
from celery.result import allow_join_result

from programs.models import Cycle, Entitlement, EntitlementRun, Program, ProgramMembership
from programs.services import cycle_create, cycle_generate_execute
from tests.platform.test_job_runner_worker import FAST_CLOCKS, wait_for
from tests.platform.test_worker import redis_url, spawn_worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SLOW = {**FAST_CLOCKS, "SPMIS_TEST_ENTITLEMENT_CHUNK_S": "1"}


def test_a_killed_generation_is_finished_once_by_the_redelivered_task(flood, redis_url, tmp_path):  # noqa: F811
    program = Program.objects.create(name="Regular", currency="BDT")
    households = flood["high"] + flood["moderate"]
    ProgramMembership.objects.bulk_create(ProgramMembership(program=program, household=h) for h in households)
    cycle = cycle_create(
        user=None,
        program=program,
        name="Top-up",
        kind=Cycle.Kind.TOP_UP,
        starts_on=flood["incident"].started_on,
        ends_on=flood["incident"].started_on,
        rule="exposure.affected",
        formula={"cash": {"by_class": {"high": "8000", "moderate": "5000"}}},
        exposure_run=flood["run"],
    )
    run = EntitlementRun.objects.create(cycle=cycle)
    first = spawn_worker(redis_url, tmp_path, env=SLOW, name="first")
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    second = None
    try:
        with allow_join_result():
            client.send_task("programs.generate_entitlements", args=[run.pk])
            wait_for(
                lambda: EntitlementRun.objects.filter(pk=run.pk, status="running", progress__gt=10).exists(),
                timeout=90,
                what="the first worker to write a chunk",
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            # The killed worker's transaction died with it: not one entitlement is visible.
            assert not Entitlement.objects.filter(cycle=cycle).exists()

            second = spawn_worker(redis_url, tmp_path, env=SLOW, name="second")
            wait_for(
                lambda: EntitlementRun.objects.filter(pk=run.pk, status="succeeded").exists(),
                timeout=240,
                what="the redelivered task to finish the generation",
            )
        # The task delivered once more (Celery delivers at least once) finds the row finished and writes nothing.
        cycle_generate_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.attempts == 2 and run.result["entitlements"] == len(households)
        entitlements = Entitlement.objects.filter(cycle=cycle)
        assert entitlements.count() == len(households)
        assert entitlements.values("household").distinct().count() == len(households)
        amounts = sorted(entitlements.values_list("amount", flat=True))
        assert [str(a) for a in amounts] == ["5000.000"] * 2 + ["8000.000"] * 6
        cycle.refresh_from_db()
        assert cycle.planned_count == len(households) and str(cycle.planned_amount) == "58000.000"
    finally:
        client.close()
        for process in (first, second):
            if process and process.poll() is None:
                process.terminate()
                process.wait(20)
