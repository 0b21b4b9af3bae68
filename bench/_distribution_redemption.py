"""Redemption throughput: online redemptions one request at a time (each its own transaction, with the balance's
trigger and the idempotency key), and one offline batch of signed records, against the same number of bare INSERTs
of redemption rows measured in the same run. Cash vouchers, so the figure is the redemption's own cost (in-kind
adds the stock ledger's). `measure_redemption(redemptions) -> {"redemptions_per_s", "batch_records_per_s",
"bare_inserts_per_s"}`; the integrator's bench/distribution.py may print them."""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from decimal import Decimal


def _world(count: int):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from django.contrib.auth import get_user_model
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from django.utils import timezone

    from distribution.models import DistributionPoint
    from distribution.redemption import services
    from geo.models import Area
    from programs.models import Cycle, Entitlement, Program
    from registry.models import Household

    Area.objects.create(
        code="BENCH-R", name="Bench", level=0, geom=MultiPolygon(Polygon.from_bbox((90.0, 23.0, 91.0, 24.0)))
    )
    users = get_user_model().objects
    operator = users.create(username=f"bench-op-{uuid.uuid4().hex[:6]}", is_superuser=True)
    submitter = users.create(username=f"bench-sub-{uuid.uuid4().hex[:6]}")
    approver = users.create(username=f"bench-app-{uuid.uuid4().hex[:6]}")
    point = DistributionPoint.objects.create(code="BENCH-DP", name="Bench point", location=Point(90.5, 23.5))
    point.refresh_from_db()
    program = Program.objects.create(name=f"Bench {uuid.uuid4().hex[:6]}", currency="BDT")
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        program=program, sequence=1, name="Bench", kind="top_up", starts_on=today - datetime.timedelta(days=3),
        ends_on=today + datetime.timedelta(days=30), state="approved", submitted_by=submitter, approved_by=approver,
    )  # fmt: skip
    households = Household.objects.bulk_create(
        [Household(location=Point(90.1 + (i % 800) / 1000, 23.1 + (i // 800) / 1000)) for i in range(2 * count)]
    )
    entitlements = Entitlement.objects.bulk_create(
        [
            Entitlement(
                cycle=cycle, program=program, household=h, kind="cash", amount=Decimal("1000"), currency="BDT",
                valid_from=cycle.starts_on, valid_until=cycle.ends_on, status="approved",
            )
            for h in households
        ]
    )  # fmt: skip
    codes = list(
        Entitlement.objects.filter(pk__in=[e.pk for e in entitlements]).order_by("id").values_list("code", flat=True)
    )
    private = Ed25519PrivateKey.generate()
    public = base64.urlsafe_b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    device = services.device_register(user=operator, point_id=point.pk, name="Bench tablet", public_key=public)
    return operator, point, device, private, codes


def measure_redemption(redemptions: int = 2000) -> dict:
    from django.db import connection
    from django.utils import timezone

    from distribution.redemption import services, vouchers

    operator, point, device, private, codes = _world(redemptions)
    online, offline = codes[:redemptions], codes[redemptions:]
    print(f"redemption bench: {len(codes)} cash entitlements, {redemptions} online redemptions, "
          f"{redemptions} offline records in batches of "
          f"{services.MAX_BATCH_RECORDS}")  # fmt: skip

    started = time.perf_counter()
    for code in online:
        services.redemption_redeem(
            user=operator, point_id=point.pk, voucher=vouchers.sign(code), amount="600", client_uuid=uuid.uuid4()
        )
    online_s = time.perf_counter() - started

    at = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()
    records = [
        {"client_uuid": str(uuid.uuid4()), "voucher": vouchers.sign(code), "occurred_at": at, "operator": "bench"}
        for code in offline
    ]
    started = time.perf_counter()
    redeemed = 0
    for start in range(0, len(records), services.MAX_BATCH_RECORDS):
        chunk = records[start : start + services.MAX_BATCH_RECORDS]
        payload = json.dumps({"device": device.key_id, "batch": str(uuid.uuid4()), "records": chunk})
        signature = base64.urlsafe_b64encode(private.sign(payload.encode())).decode()
        batch = services.redemption_batch_upload(
            user=operator, body={"device": device.key_id, "payload": payload, "signature": signature}
        )
        redeemed += batch.redeemed
    batch_s = time.perf_counter() - started
    assert redeemed == redemptions, redeemed

    # Baseline: the same number of bare redemption rows, one INSERT each in autocommit, no checks, no lines.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_bare (LIKE distribution_redemption INCLUDING ALL)")
        row = ("redemption", "scan", 1, 1, 1, point.pk, timezone.now())
        started = time.perf_counter()
        for _ in range(redemptions):
            cursor.execute(
                "INSERT INTO bench_bare (kind, method, entitlement_id, household_id, program_id, point_id,"
                " occurred_at, operator_label, reason, request_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', '')",
                row,
            )
        bare_s = time.perf_counter() - started
    return {
        "redemptions_per_s": round(redemptions / online_s, 1),
        "batch_records_per_s": round(redemptions / batch_s, 1),
        "bare_inserts_per_s": round(redemptions / bare_s, 1),
    }


def measure_in_kind(redemptions: int = 500) -> dict:
    """In-kind redemptions (two 25 kg bags of rice each) moving stock out of the point's ledger, FEFO over a few lots:
    {"in_kind_redemptions_per_s"}. Runs after measure_redemption in the same database."""
    import datetime as dt

    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from distribution.models import DistributionPoint, Warehouse
    from distribution.redemption import services, vouchers
    from distribution.stock import services as stock_services
    from distribution.stock.models import StockItem, StockUnit
    from distribution.stock.selectors import stock_on_hand
    from programs.models import Cycle, Entitlement, EntitlementItem
    from registry.models import Household

    operator = Cycle.objects.get(name="Bench").approved_by
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    cycle = Cycle.objects.get(name="Bench")
    point = DistributionPoint.objects.create(code="BENCH-DP2", name="Bench point 2", location=Point(90.5, 23.5))
    warehouse = Warehouse.objects.create(code="BENCH-WH", name="Bench warehouse", location=Point(90.4, 23.6))
    item, _ = StockItem.objects.get_or_create(code="rice", defaults={"name": "Rice", "base_unit": "kg", "weight_kg": 1})
    StockUnit.objects.get_or_create(item=item, code="bag", defaults={"factor": 25, "is_pack": True})
    bags = 2 * redemptions
    for lot in range(4):
        expires = (timezone.localdate() + dt.timedelta(days=60 + 30 * lot)).isoformat()
        line = {"item": "rice", "quantity": bags // 4 + 1, "unit": "bag", "lot": f"L{lot}", "expires_on": expires}
        stock_services.stock_receive(warehouse_id=warehouse.pk, lines=[line])
        stock_services.stock_dispatch(
            warehouse_id=warehouse.pk, point_id=point.pk, lines=[{**line, "expires_on": None} | {"lot": f"L{lot}"}]
        )
    households = Household.objects.bulk_create([Household(location=Point(90.3, 23.3)) for _ in range(redemptions)])
    entitlements = Entitlement.objects.bulk_create(
        [
            Entitlement(
                cycle=cycle, program=cycle.program, household=h, kind="in_kind", valid_from=cycle.starts_on,
                valid_until=cycle.ends_on, status="approved",
            )
            for h in households
        ]
    )  # fmt: skip
    EntitlementItem.objects.bulk_create(
        [EntitlementItem(entitlement=e, item="rice", quantity=2, unit="bag") for e in entitlements]
    )
    codes = list(
        Entitlement.objects.filter(pk__in=[e.pk for e in entitlements]).order_by("id").values_list("code", flat=True)
    )
    before = stock_on_hand(points=[point.pk])[("point", point.pk, "rice")]
    print(f"in-kind bench: {redemptions} redemptions of 2 bags of rice from {before} kg in 4 lots")
    started = time.perf_counter()
    for code in codes:
        services.redemption_redeem(user=operator, point_id=point.pk, voucher=vouchers.sign(code))
    elapsed = time.perf_counter() - started
    after = stock_on_hand(points=[point.pk]).get(("point", point.pk, "rice"), 0)
    assert before - after == 50 * redemptions, (before, after)
    return {"in_kind_redemptions_per_s": round(redemptions / elapsed, 1)}


if __name__ == "__main__":
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import bench_database, result_line

    parser = argparse.ArgumentParser()
    parser.add_argument("--redemptions", type=int, default=2000)
    args = parser.parse_args()
    with bench_database("distribution_redemption"):
        figures = measure_redemption(args.redemptions)
        figures.update(measure_in_kind(max(1, args.redemptions // 4)))
    print(result_line("distribution_redemption", **figures))
