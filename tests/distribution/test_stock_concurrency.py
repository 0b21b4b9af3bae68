"""Eight workers, each on its own database connection, dispatching and issuing from the same lot at the same time:
the lot never goes below zero and exactly what was on hand goes out. Once through the service (FEFO locks the
balance row), once with raw inserts that skip every Python check, so the database alone is shown to refuse."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from distribution.stock import services
from distribution.stock.models import StockBalance, StockMovement
from tests.distribution.factories_stock import receive, rice, stock_point
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 8
ATTEMPTS = 15


def _run(work):
    barrier = threading.Barrier(WORKERS)

    def worker(n):
        try:
            barrier.wait()
            return work(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(worker, range(WORKERS)))


def test_eight_workers_issuing_from_one_lot_never_go_negative():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    stock_point(warehouse, point, item, 100, "kg", lot="ONE")

    def work(n):
        done = refused = 0
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    services.stock_issue(
                        point_id=point.pk, item_code="rice", quantity=1, unit="kg", reference=f"W{n}-{attempt}"
                    )
                done += 1
            except ValidationError as error:
                assert "Not enough Rice" in str(error)
                refused += 1
        return done, refused

    results = _run(work)
    assert sum(done for done, _ in results) == 100
    assert sum(refused for _, refused in results) == WORKERS * ATTEMPTS - 100
    assert StockBalance.objects.get(point=point).on_hand == 0
    assert StockMovement.objects.filter(point=point, kind="distribution").count() == 100


def test_eight_workers_dispatching_from_one_warehouse_lot():
    item = rice()
    warehouse = WarehouseFactory()
    points = [DistributionPointFactory() for _ in range(WORKERS)]
    receive(warehouse, item, 60, "kg", lot="ONE")

    def work(n):
        done = 0
        for _ in range(ATTEMPTS):
            try:
                services.stock_dispatch(
                    warehouse_id=warehouse.pk,
                    point_id=points[n].pk,
                    lines=[{"item": "rice", "quantity": 1, "unit": "kg"}],
                )
                done += 1
            except ValidationError:
                pass
        return done

    assert sum(_run(work)) == 60
    assert StockBalance.objects.get(warehouse=warehouse).on_hand == 0
    assert sum(b.on_hand for b in StockBalance.objects.filter(point__in=points)) == 60


def test_raw_concurrent_inserts_are_refused_by_the_database_alone():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    stock_point(warehouse, point, item, 50, "kg", lot="ONE")
    lot_id = StockBalance.objects.get(point=point).lot_id

    def work(n):
        done = 0
        for _ in range(ATTEMPTS):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO distribution_stockmovement (kind, point_id, item_id, lot_id, quantity, reference,"
                        " reason, occurred_on, recorded_at) VALUES ('distribution', %s, %s, %s, -1, 'raw', '',"
                        " current_date, now())",
                        [point.pk, item.pk, lot_id],
                    )
                done += 1
            except IntegrityError as error:
                assert "distribution_stockbalance_non_negative" in str(error.__cause__.diag.constraint_name)
        return done

    assert sum(_run(work)) == 50
    assert StockBalance.objects.get(point=point).on_hand == Decimal(0)
