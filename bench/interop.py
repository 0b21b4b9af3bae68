"""DCI social registry bench: signed searches through the whole HTTP stack (envelope parse, Ed25519 check, sender
lookup, audit row, query, records, our signature) on the demo registry over real Bangladesh areas.

Measured in one run:
- identifier lookup: sync search by national ID (one person, personal data), median ms;
- expression page: households in one district with a child under 5, sorted by size, 50 per page, median ms
  (page 1 and a deep page), and the same page without personal data;
- baseline: the envelope check alone (parse + signature + sender), median ms, so the query's share is visible.

    make bench-interop
    make bench-interop BENCH_ARGS="--households 100000 --repeat 30"
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import time
import uuid

from _harness import bench_database, peak_rss_mb, result_line


def signature(private, header, message, sender_id="bench", kid="k1") -> str:
    def canonical(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    created = int(time.time())
    digest = base64.b64encode(hashlib.blake2b(canonical(header) + canonical(message), digest_size=64).digest()).decode()
    text = f"(created): {created}\n(expires): {created + 600}\ndigest: BLAKE-512={digest}"
    value = base64.b64encode(private.sign(text.encode())).decode()
    return (
        f'Signature: namespace="dci", kidId="{sender_id}|{kid}|ed25519", algorithm="ed25519", created="{created}", '
        f'expires="{created + 600}", headers="(created) (expires) digest", signature="{value}"'
    )


def envelope(private, message, sender_id) -> bytes:
    header = {
        "version": "1.0.0",
        "message_id": uuid.uuid4().hex,
        "message_ts": "2026-12-03T12:00:00Z",
        "action": "search",
        "sender_id": sender_id,
        "total_count": 1,
    }
    return json.dumps(
        {"signature": signature(private, header, message, sender_id), "header": header, "message": message}
    ).encode()


def search(query, *, query_type="expression", entity=None, page=1, size=50, sort=None) -> dict:
    criteria = {"query_type": query_type, "query": query, "pagination": {"page_size": size, "page_number": page}}
    if entity:
        criteria["response_entity"] = entity
    if sort:
        criteria["sort"] = sort
    return {
        "transaction_id": uuid.uuid4().hex[:16],
        "search_request": [{"reference_id": "r1", "timestamp": "2026-12-03T12:00:00Z", "search_criteria": criteria}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with bench_database("interop"):
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from django.db import connection
        from django.test import Client

        from geo.demo import load_bangladesh_areas
        from geo.models import Area
        from interop.dci.senders import envelope_open, sender_register
        from programs.credentials.keys import _b64
        from registry.demo import load_demo_households
        from registry.models import IdType

        load_bangladesh_areas()
        start = time.perf_counter()
        counts = load_demo_households(args.households, seed=args.seed)
        load_s = time.perf_counter() - start
        national = IdType.objects.create(code="national-id", name="National ID")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO registry_iddocument (individual_id, id_type_id, number, created_at) "
                "SELECT id, %s, lpad(id::text, 10, '0'), now() FROM registry_individual",
                [national.pk],
            )
            cursor.execute("ANALYZE")
            # The district (level 2) with the most households.
            cursor.execute(
                "SELECT d.code FROM registry_household h JOIN geo_area a ON a.id = h.area_id "
                "JOIN geo_area d ON d.id = a.lineage[3] GROUP BY d.code ORDER BY count(*) DESC LIMIT 1"
            )
            (district,) = cursor.fetchone()
            cursor.execute(
                "SELECT id FROM registry_individual ORDER BY id LIMIT 1 OFFSET %s", [counts["individuals"] // 2]
            )
            (person,) = cursor.fetchone()

        keys = {}
        for sender_id, personal in (("bench", True), ("bench-np", False)):
            private = ed25519.Ed25519PrivateKey.generate()
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(private.public_key().public_bytes_raw()), "kid": "k1"}
            sender_register(sender_id=sender_id, name=sender_id, jwks={"keys": [jwk]}, personal_data=personal)
            keys[sender_id] = private
        client = Client()

        def run(message, sender_id="bench") -> tuple[float, dict]:
            body = envelope(keys[sender_id], message, sender_id)
            t0 = time.perf_counter()
            response = client.post("/api/v1/interop/dci/registry/sync/search", body, content_type="application/json")
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, response.content[:500]
            (entry,) = response.json()["message"]["search_response"]
            assert entry["status"] == "succ", entry
            return elapsed, entry

        def median_ms(make, sender_id="bench") -> tuple[float, dict]:
            run(make(), sender_id)  # warm
            samples = [run(make(), sender_id) for _ in range(args.repeat)]
            return statistics.median(s for s, _ in samples), samples[-1][1]

        id_ms, entry = median_ms(
            lambda: search({"type": "UIN", "value": f"{person:010d}"}, query_type="idtype-value", size=10)
        )
        assert entry["pagination"]["total_count"] == 1
        page_query = [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "area_code", "operator": "eq", "attribute_value": district},
                "condition": "and",
                "expression2": {"attribute_name": "members_under_5", "operator": "ge", "attribute_value": 1},
            }
        ]
        order = [{"attribute_name": "household_size", "sort_order": "desc"}]
        page_ms, entry = median_ms(lambda: search(page_query, sort=order))
        matches = entry["pagination"]["total_count"]
        deep = max(1, matches // 50)
        deep_ms, _ = median_ms(lambda: search(page_query, sort=order, page=deep))
        reduced_ms, _ = median_ms(lambda: search(page_query, sort=order), "bench-np")

        body = envelope(keys["bench"], search(page_query), "bench")
        samples = []
        for _ in range(args.repeat * 5):
            t0 = time.perf_counter()
            envelope_open(body, action="search")
            samples.append((time.perf_counter() - t0) * 1000)
        verify_ms = statistics.median(samples)
        (district_name,) = Area.objects.filter(code=district).values_list("name", flat=True)

    print(f"registry: {counts['households']:,} households, {counts['individuals']:,} individuals (load {load_s:.1f} s)")
    print(f"identifier lookup by national ID: {id_ms:.1f} ms median of {args.repeat}")
    print(
        f"expression page (district {district_name}, under-5 >= 1, {matches:,} matches, 50/page): {page_ms:.1f} ms; "
        f"page {deep}: {deep_ms:.1f} ms; without personal data: {reduced_ms:.1f} ms"
    )
    print(f"envelope check alone (parse, Ed25519, sender): {verify_ms:.2f} ms")
    # The last line printed, for scripts: RESULT interop key=value ...
    result_line(
        "interop",
        households=counts["households"],
        individuals=counts["individuals"],
        id_lookup_ms=id_ms,
        expression_page_ms=page_ms,
        expression_deep_page_ms=deep_ms,
        expression_page_reduced_ms=reduced_ms,
        envelope_check_ms=verify_ms,
        matches=matches,
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
