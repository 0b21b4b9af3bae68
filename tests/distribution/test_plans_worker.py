"""A plan built by a real Celery worker over a real Redis: the task takes only the plan's id, the job runs in the
worker's own transaction (the temporary tables of the catchments live and die with it), and a second delivery of
the same task builds nothing twice."""

from __future__ import annotations

import pytest
from celery import Celery
from celery.result import allow_join_result

from distribution.models import DistributionPlan, PlanAssignment, PlanPoint
from tests.distribution.factories_plans import at, entitle, in_kind_cycle, road_grid
from tests.distribution.factories_stock import StockItemFactory, rice
from tests.factories import DistributionPointFactory
from tests.platform.test_job_runner_worker import FAST_CLOCKS, wait_for
from tests.platform.test_worker import redis_url, spawn_worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_builds_the_plan_once(redis_url, tmp_path):  # noqa: F811  (the fixture imported above)
    network = road_grid(size=6)
    DistributionPointFactory(code="W1", location=at(1, 1), daily_capacity_households=2)
    DistributionPointFactory(code="E1", location=at(4, 4))
    rice()
    StockItemFactory(code="oil", base_unit="l", weight_kg=1)
    cycle = in_kind_cycle()
    entitle(cycle, [at(0, 1), at(1, 2), at(2, 1), at(4, 5)])
    plan = DistributionPlan.objects.create(cycle=cycle, network=network)
    worker = spawn_worker(redis_url, tmp_path, env=FAST_CLOCKS)
    client = Celery("spmis-test-client", broker=redis_url, backend=redis_url)
    try:
        with allow_join_result():
            client.send_task("distribution.plan_build", args=[plan.pk])
            wait_for(
                lambda: DistributionPlan.objects.filter(pk=plan.pk, status__in=["succeeded", "failed"]).exists(),
                timeout=120,
                what="the worker to build the plan",
            )
            plan.refresh_from_db()
            assert plan.status == "succeeded", plan.error
            assert plan.result["assigned"] == 4 and plan.attempts == 1
            # Delivered again (Celery delivers at least once): the finished row is left as it is.
            client.send_task("distribution.plan_build", args=[plan.pk]).get(timeout=60)
    finally:
        worker.terminate()
        worker.wait(20)
    plan.refresh_from_db()
    assert plan.attempts == 1
    assert PlanAssignment.objects.filter(plan=plan).count() == 4
    served = dict(PlanPoint.objects.filter(plan=plan).values_list("point__code", "households"))
    # W1 takes two a day; the third western household goes east, the long way.
    assert served == {"W1": 2, "E1": 2}
