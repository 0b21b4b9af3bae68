"""Payment file writing and XSD validation without the database (programs.payments.files).

    make bench-payment_files                                  # 200,000 and 1,000,000 payments
    make bench-payment_files BENCH_ARGS="--rows 50000"        # a quick run

Rows: generated in memory, lazily (so memory stays flat): 70 % Bangladesh bank accounts (account number + BEFTN
routing number), 20 % mobile wallets (E.164), 10 % IBANs with a BIC; names of 10 to 40 characters, one in ten in
Bengali script; amounts in BDT with paisa; an entitlement code as remittance.

Measured in the same run, best of --repeat:
- write_pain001 (pain.001.001.09) to a file on disk, with every check, the SHA-256 and the atomic rename;
- the bare lxml writer of bench/_payments_lxml.py on the same rows to the same disk (the ratio's baseline), and the
  naive bare loop (a fresh tree per transaction) for reference;
- validate_file on the file written (XSD, streamed, plus the NbOfTxs/CtrlSum recount);
- the generator alone, so the writers' times can be read without it.
overall_per_s is rows / (write + validate). Peak memory is this process's (ru_maxrss).

Then the batch as it would be released: split into files of --per-file payments (split_sizes), written one after
the other, validated with validate_files(processes=--processes) (split_per_s: rows / (write + validate), wall).
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _harness import peak_rss_mb, result_line
from _payments_lxml import write_bare, write_bare_naive

NAMES = ["Rahima Begum", "Mohammad Abdul Karim", "Nasima Akter", "Md. Rafiqul Islam Chowdhury", "Shirin Sultana"]
BENGALI = "রহিমা বেগম"


def header_for(rows: int, total: Decimal):
    from programs.payments.files.pain001 import FileHeader, Party

    return FileHeader(
        msg_id="BENCH-1-F1-A1",
        created_at=datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC),
        initiating_party="Department of Social Services",
        debtor=Party(name="DSS Cash Transfer Programme", other_id="0012345678901", clearing_member_id="010261234"),
        payment_info_id="BENCH-1-F1",
        execution_date=datetime.date(2026, 12, 3),
        nb_of_txs=rows,
        ctrl_sum=total,
        currency="BDT",
    )


def amount_of(i: int) -> Decimal:
    return Decimal(3000 + (i % 97) * 25) + Decimal(i % 100).scaleb(-2)


def transfers(rows: int, start: int = 0):
    from programs.payments.files.pain001 import Transfer

    for i in range(start, start + rows):
        amount = amount_of(i)
        name = BENGALI if i % 10 == 3 else f"{NAMES[i % 5]} {i % 1000}"
        if i % 10 < 7:
            kind, number, routing, bic = "bank", f"{1000000000000 + i}", "010261234", ""
        elif i % 10 < 9:
            kind, number, routing, bic = "mobile_wallet", f"+88017{10000000 + i % 89999999:08d}", "", ""
        else:
            kind, number, routing, bic = "iban", "DE89370400440532013000", "", "COBADEFFXXX"
        yield Transfer(
            end_to_end_id=f"P{i:012d}",
            amount=amount,
            currency="BDT",
            creditor_name=name,
            account_kind=kind,
            account_number=number,
            routing_number=routing,
            bic=bic,
            remittance=f"ENT-2026-{i:09d}",
        )


def expected_total(rows: int) -> Decimal:
    return sum((t.amount for t in transfers(rows)), Decimal(0))


def best(repeat: int, function) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(rows: int, repeat: int, folder: Path, per_file: int, processes: int) -> dict:
    from programs.payments.files.pain001 import split_sizes, write_pain001
    from programs.payments.files.xsd import validate_file, validate_files

    total = expected_total(rows)
    header = header_for(rows, total)
    ours = folder / "ours.xml"
    generate_s = best(repeat, lambda: sum(1 for _ in transfers(rows)))
    write_s = best(repeat, lambda: write_pain001(ours, header, transfers(rows)))

    def bare(writer):
        with open(folder / "bare.xml", "wb") as out:
            writer(out, header, transfers(rows))

    bare_s = best(repeat, lambda: bare(write_bare))
    naive_s = best(1, lambda: bare(write_bare_naive))
    findings: list = []
    validate_s = best(repeat, lambda: findings.extend(validate_file(ours, "pain.001.001.09")))
    if findings:
        raise SystemExit(f"the written file does not validate: {findings[:3]}")
    size_mb = ours.stat().st_size / 2**20
    print(
        f"rows={rows}: file {size_mb:.0f} MiB; generate {generate_s:.2f} s, write {write_s:.2f} s, "
        f"bare {bare_s:.2f} s, naive bare {naive_s:.2f} s, validate {validate_s:.2f} s; "
        f"ratio {write_s / bare_s:.2f} (net of generation {(write_s - generate_s) / (bare_s - generate_s):.2f}); "
        f"peak {peak_rss_mb():.0f} MiB",
        flush=True,
    )
    sizes = split_sizes(rows, per_file)
    paths = [folder / f"split{n}.xml" for n in range(len(sizes))]

    def write_split():
        start = 0
        for size, path in zip(sizes, paths, strict=True):
            total = sum((amount_of(i) for i in range(start, start + size)), Decimal(0))
            write_pain001(path, header_for(size, total), transfers(size, start))
            start += size

    split_write_s = best(1, write_split)
    split_findings: list = []
    split_validate_s = best(
        1, lambda: split_findings.extend(validate_files(paths, "pain.001.001.09", processes=processes))
    )
    if any(split_findings):
        raise SystemExit("a split file does not validate")
    for path in paths:
        path.unlink()
    print(
        f"rows={rows} in {len(sizes)} files of {per_file}: write {split_write_s:.2f} s, validate with {processes} "
        f"processes {split_validate_s:.2f} s: {rows / (split_write_s + split_validate_s):.0f} payments/s",
        flush=True,
    )
    return {
        "split_per_s": rows / (split_write_s + split_validate_s),
        "rows": rows,
        "write_per_s": rows / write_s,
        "validate_per_s": rows / validate_s,
        "overall_per_s": rows / (write_s + validate_s),
        "write_ratio_vs_lxml": write_s / bare_s,
        "naive_ratio": write_s / naive_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-file", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spmis.settings.test")
    with tempfile.TemporaryDirectory(prefix="bench-payment-files-") as folder:
        results = [
            measure(rows, arguments.repeat, Path(folder), arguments.per_file, arguments.processes)
            for rows in arguments.rows
        ]
    last = results[-1]
    # The last line printed, for scripts: RESULT payment_files key=value ...
    result_line(
        "payment_files",
        payments=last["rows"],
        write_per_s=last["write_per_s"],
        validate_per_s=last["validate_per_s"],
        payments_per_s=last["overall_per_s"],
        split_payments_per_s=last["split_per_s"],
        write_ratio_vs_lxml=last["write_ratio_vs_lxml"],
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
