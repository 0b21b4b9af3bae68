"""Credentials bench: signing Claim 169 QR payloads for N individuals on all cores, against bare Ed25519 signing
of the same payloads in the same run, and a PDF batch of ID-1 card sheets.

For each chunk of individuals a worker first builds the CWT payloads (untimed, identical for both), then times
(a) bare Ed25519 signatures of those payloads and (b) our full QR text: COSE_Sign1 (the same Ed25519 signature over
the Sig_structure) → zlib → Base45. Throughput = N / the slowest worker's timed total (workers run at once).
Targets (issue 14): qr_per_s ≥ 10,000 on 2 cores, sign_ratio_vs_bare ≤ 2, cards_pdf_s < 60 for 10,000 cards.

    make bench-credentials BENCH_ARGS="--individuals 1000000 --cards 10000"
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import peak_rss_mb, result_line

ISSUER = "https://spmis.example.gov"
STATUS_URI = ISSUER + "/.well-known/status-lists/1"
CHUNK = 5000


def claims_for(i: int) -> dict:
    return {
        "id": f"I{i:010d}",
        "fullName": f"Amina Rahman {i % 9973}",
        "locationCode": f"BD-30-{i % 64:02d}-{i % 1000:03d}",
        "programCode": "PRG-000001-3",
        "cardCode": f"CRD-{i:010d}",
    }


def _worker(args: tuple[int, int, bytes]) -> tuple[float, float, int, int]:
    start, stop, seed = args
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from programs.credentials import claim169

    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    key = claim169.SigningKey("bench", "EdDSA", private)
    protected = claim169.protected_header(key)
    bare_s = ours_s = 0.0
    chars = 0
    for chunk_start in range(start, stop, CHUNK):
        chunk = range(chunk_start, min(chunk_start + CHUNK, stop))
        payloads = [
            claim169.cwt_payload(
                claims_for(i), issuer=ISSUER, issued_at=1_770_000_000, expires_at=1_830_000_000, status=(i, STATUS_URI)
            )
            for i in chunk
        ]
        t0 = time.perf_counter()
        sign = private.sign
        for payload in payloads:
            sign(payload)
        t1 = time.perf_counter()
        wrap = claim169.wrap
        sign_payload = claim169.sign_payload
        for payload in payloads:
            text = wrap(sign_payload(payload, key, protected))
        t2 = time.perf_counter()
        bare_s += t1 - t0
        ours_s += t2 - t1
        chars = len(text)
    return bare_s, ours_s, stop - start, chars


def measure_signing(individuals: int, workers: int) -> dict:
    seed = os.urandom(32)
    step = -(-individuals // workers)
    ranges = [(s, min(s + step, individuals), seed) for s in range(0, individuals, step)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_worker, ranges))
    bare = max(p[0] for p in parts)
    ours = max(p[1] for p in parts)
    # A sample decodes and verifies: the bench measures codes that work.
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from programs.credentials import claim169

    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    key = claim169.SigningKey("bench", "EdDSA", private)
    sample = claim169.encode(claims_for(7), key, issuer=ISSUER, issued_at=1_770_000_000, expires_at=1_830_000_000)
    decoded = claim169.decode(
        sample, [claim169.VerificationKey("bench", "EdDSA", private.public_key())], now=1_780_000_000
    )
    assert decoded.claims["id"] == "I0000000007"
    print(
        f"signing: {individuals} individuals on {workers} processes, QR text {parts[0][3]} characters; "
        f"bare {bare:.2f} s, ours {ours:.2f} s",
        flush=True,
    )
    return {"qr_per_s": individuals / ours, "bare_per_s": individuals / bare, "sign_ratio_vs_bare": ours / bare}


def measure_pdf(cards: int, workers: int) -> dict:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from programs.credentials import claim169
    from programs.credentials.documents import CardFace, cards_pdf

    key = claim169.SigningKey("bench", "EdDSA", ed25519.Ed25519PrivateKey.generate())
    faces = [
        CardFace(
            program="Flood relief 2026 — Sylhet",
            name=claims_for(i)["fullName"],
            registrant_id=claims_for(i)["id"],
            card_code=claims_for(i)["cardCode"],
            expires_on="2027-12-31",
            qr_text=claim169.encode(
                claims_for(i),
                key,
                issuer=ISSUER,
                issued_at=1_770_000_000,
                expires_at=1_830_000_000,
                status=(i, STATUS_URI),
            ),
        )
        for i in range(cards)
    ]
    start = time.perf_counter()
    pdf = cards_pdf(faces, workers=workers)
    elapsed = time.perf_counter() - start
    print(f"cards PDF: {cards} cards, {len(pdf) / 1e6:.1f} MB, {elapsed:.1f} s ({workers} QR processes)", flush=True)
    return {"cards_pdf_s": elapsed, "cards": cards}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=1_000_000)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spmis.settings.test")
    zlib.compress(b"warm")
    signing = measure_signing(arguments.individuals, arguments.workers)
    pdf = measure_pdf(arguments.cards, arguments.workers)
    # The last line printed, for scripts: RESULT credentials key=value ...
    result_line(
        "credentials",
        individuals=arguments.individuals,
        qr_per_s=signing["qr_per_s"],
        bare_per_s=signing["bare_per_s"],
        sign_ratio_vs_bare=signing["sign_ratio_vs_bare"],
        cards=pdf["cards"],
        cards_pdf_s=pdf["cards_pdf_s"],
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
