"""CRVS bench: the cost of a death notified by a civil registry, end to end through the notify endpoint (signature
check, validation, match by national ID, event row, change request), against filing the same death change request
directly (change_request_submit), on a registry of N households of one person each, in the same run.

    make bench-crvs BENCH_ARGS="--households 20000 --events 300"
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_database, peak_rss_mb, result_line


def load(households: int) -> None:
    from django.contrib.gis.geos import Point

    from registry.models import Household, IdDocument, IdType, Individual, Membership

    kind, _ = IdType.objects.get_or_create(code="national_id", defaults={"name": "National ID"})
    step = 5000
    for start in range(0, households, step):
        stop = min(start + step, households)
        homes = Household.objects.bulk_create(
            [Household(external_id=f"B{i:08d}", location=Point(90.5, 23.5, srid=4326)) for i in range(start, stop)]
        )
        people = Individual.objects.bulk_create(
            [
                Individual(given_name=f"Person {i}", family_name="Bench", birth_date=dt.date(1950, 1, 1), sex="F")
                for i in range(start, stop)
            ]
        )
        Membership.objects.bulk_create(
            [Membership(household=h, individual=p, role="head") for h, p in zip(homes, people, strict=True)]
        )
        IdDocument.objects.bulk_create(
            [
                IdDocument(individual=p, id_type=kind, number=f"{i:010d}")
                for i, p in zip(range(start, stop), people, strict=True)
            ]
        )


def death_record(i: int) -> dict:
    return {
        "identifier": [{"identifier_type": "UIN", "identifier_value": f"{i:010d}"}],
        "name": {"given_name": f"Person {i}", "surname": "Bench"},
        "sex": "female",
        "birth_date": "1950-01-01",
        "death_date": "2026-11-01",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=300, help="deaths per measurement (three measurements)")
    parser.add_argument("--batch", type=int, default=50, help="events per message in the batched measurement")
    args = parser.parse_args()
    if args.households < 3 * args.events:
        parser.error("--households must be at least 3 × --events (each person dies once)")

    with bench_database("crvs"):
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from django.test import Client

        from interop.crvs import signing
        from interop.crvs.models import CrvsEvent, CrvsSubscription
        from interop.crvs.services import crvs_source_create
        from registry.models import ChangeRequest, Individual
        from registry.services import change_request_submit
        from tests.factories import UserFactory

        t0 = time.perf_counter()
        load(args.households)
        load_s = time.perf_counter() - t0
        print(f"loaded {args.households} households (1 person, 1 national ID each) in {load_s:.1f} s", flush=True)

        key = ed25519.Ed25519PrivateKey.generate()
        x = base64.urlsafe_b64encode(key.public_key().public_bytes_raw()).rstrip(b"=").decode()
        jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}]}
        source = crvs_source_create(
            code="bench",
            name="Bench CRVS",
            base_url="http://127.0.0.1:9",
            our_sender_id="spmis",
            crvs_sender_id="crvs",
            jwks=jwks,
        )
        CrvsSubscription.objects.create(
            source=source,
            event="death",
            status="active",
            code="SUB-D",
            transaction_id="t",
            reference_id="r",
            message_id="m",
        )

        def body(ids: list[int]) -> bytes:
            header = {
                "version": "1.0.0",
                "message_id": str(uuid.uuid4()),
                "message_ts": "2026-11-03T08:00:00Z",
                "action": "notify",
                "status": "succ",
                "sender_id": "crvs",
                "receiver_id": "spmis",
                "total_count": len(ids),
            }
            message = {
                "transaction_id": str(uuid.uuid4()),
                "notify_event": [
                    {
                        "reference_id": f"EV-{i}",
                        "timestamp": "2026-11-03T08:00:00Z",
                        "subscription_code": "SUB-D",
                        "data": {"reg_record_type": "spdci-extensions-dci:Person", "reg_records": [death_record(i)]},
                    }
                    for i in ids
                ],
            }
            signature = signing.sign(header, message, sender_id="crvs", kid="k1", private_key=key)
            return json.dumps({"signature": signature, "header": header, "message": message}).encode()

        client = Client()

        def post(data: bytes) -> None:
            response = client.post("/api/v1/interop/crvs/notify", data=data, content_type="application/json")
            assert response.status_code == 200, response.content

        n = args.events
        single = [body([i]) for i in range(n)]  # signing is the CRVS's cost: outside the timing
        t0 = time.perf_counter()
        for data in single:
            post(data)
        single_s = time.perf_counter() - t0
        batched = [body(list(range(s, min(s + args.batch, 2 * n)))) for s in range(n, 2 * n, args.batch)]
        t0 = time.perf_counter()
        for data in batched:
            post(data)
        batch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for data in batched:  # redelivery: acknowledged, nothing written
            post(data)
        redelivery_s = time.perf_counter() - t0
        assert CrvsEvent.objects.filter(outcome="proposed").count() == 2 * n

        officer = UserFactory(username="bench-officer", is_superuser=True)
        people = list(
            Individual.objects.filter(documents__number__in=[f"{i:010d}" for i in range(2 * n, 3 * n)]).values_list(
                "pk", flat=True
            )
        )
        t0 = time.perf_counter()
        for pk in people:
            change_request_submit(user=officer, kind="death", individual_id=pk, payload={"death_date": "2026-11-01"})
        direct_s = time.perf_counter() - t0
        assert ChangeRequest.objects.count() == 3 * n

        per_event = single_s / n * 1000
        per_event_batched = batch_s / n * 1000
        direct = direct_s / n * 1000
        print(
            f"{n} deaths, one per message: {per_event:.2f} ms each; in messages of {args.batch}: "
            f"{per_event_batched:.2f} ms each; redelivered: {redelivery_s / n * 1000:.2f} ms each; "
            f"direct change request: {direct:.2f} ms each",
            flush=True,
        )
        # The last line printed, for scripts: RESULT crvs key=value ...
        result_line(
            "crvs",
            households=args.households,
            events=n,
            notify_ms_per_event=per_event,
            notify_batched_ms_per_event=per_event_batched,
            redelivery_ms_per_event=redelivery_s / n * 1000,
            direct_ms_per_request=direct,
            ratio_vs_direct=per_event / direct,
            batched_ratio_vs_direct=per_event_batched / direct,
            peak_rss_mb=peak_rss_mb(),
        )


if __name__ == "__main__":
    main()
