"""A worker killed in the middle of a dispatch (the warehouse's line written, the point's not yet) leaves nothing
half-written: the database rolls the whole transaction back, both balances are as before and the lot stays locked
by nobody."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from django.db import connection

from distribution.stock import services
from distribution.stock.models import StockBalance, StockMovement
from tests.distribution.factories_stock import receive, rice
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import psycopg
    params, warehouse, item, lot = json.loads(sys.argv[1])
    with psycopg.connect(**params) as conn:
        with conn.transaction():
            conn.execute(
                "INSERT INTO distribution_stockmovement (kind, warehouse_id, item_id, lot_id, quantity, reference,"
                " reason, occurred_on, recorded_at) VALUES ('dispatch_out', %s, %s, %s, -100, 'crash', '',"
                " current_date, now())",
                [warehouse, item, lot],
            )
            print("written", flush=True)
            time.sleep(60)
    """
)


def test_a_worker_killed_mid_dispatch_leaves_nothing_half_written():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    receive(warehouse, item, 10, "bag", lot="L")
    balance = StockBalance.objects.get(warehouse=warehouse)
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k in {"dbname", "host", "port", "user", "password"}
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps([params, warehouse.pk, item.pk, balance.lot_id])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "written"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert StockMovement.objects.filter(reference="crash").count() == 0
    balance.refresh_from_db()
    assert balance.on_hand == Decimal(250)
    # The row the dead worker had locked is free again: a dispatch goes through at once.
    services.stock_dispatch(warehouse_id=warehouse.pk, point_id=point.pk, lines=[{"item": "rice", "quantity": 250}])
    assert StockBalance.objects.get(point=point).on_hand == 250
