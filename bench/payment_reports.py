"""Reading FSP status files at scale: a pain.002.001.10 and a camt.054.001.08 of --entries payments each (default
1,000,000), written to a temporary folder in the shapes mock-bank writes them (one pain.002 payment in ten
rejected AC04; one camt.054 booked debit entry per payment), then read by programs.payments.reports: the whole file
validated against the shipped XSD, then every entry streamed. No database.

Baseline measured in the same run: one bare lxml pass over the same file (iterparse of the entries, nothing read,
nothing validated), so that the figures can be compared across machines.

    make bench-payment_reports
    make bench-payment_reports BENCH_ARGS="--entries 100000"
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import peak_rss_mb, result_line
from lxml import etree

from programs.payments.reports import read_status_file

PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def write_pain002(path: Path, entries: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{PAIN002}\"><CstmrPmtStsRpt><GrpHdr>"
            "<MsgId>MB-P002-000001</MsgId><CreDtTm>2026-10-01T09:00:12+00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts>"
            "<OrgnlMsgId>SPMIS-B1-A1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>"
            f"<OrgnlNbOfTxs>{entries}</OrgnlNbOfTxs><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts>"
            "<OrgnlPmtInfId>SPMIS-B1-A1-1</OrgnlPmtInfId><PmtInfSts>PART</PmtInfSts>\n"
        )
        for number in range(entries):
            reference = f"SPMIS-1-{number:08d}"
            if number % 10 == 0:
                out.write(
                    f"<TxInfAndSts><OrgnlEndToEndId>{reference}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn>"
                    "<Cd>AC04</Cd></Rsn><AddtlInf>the creditor account is closed</AddtlInf></StsRsnInf></TxInfAndSts>\n"
                )
            else:
                out.write(
                    f"<TxInfAndSts><OrgnlEndToEndId>{reference}</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>\n"
                )
        out.write("</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>\n")


def write_camt054(path: Path, entries: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{CAMT054}\"><BkToCstmrDbtCdtNtfctn><GrpHdr>"
            "<MsgId>MB-C054-SPMIS-PROG-1</MsgId><CreDtTm>2026-10-01T09:00:12+00:00</CreDtTm></GrpHdr><Ntfctn>"
            "<Id>MB-C054-SPMIS-PROG-1</Id><CreDtTm>2026-10-01T09:00:12+00:00</CreDtTm><Acct><Id>"
            "<IBAN>BD31MOCK1000000001</IBAN></Id><Ccy>BDT</Ccy></Acct>\n"
        )
        for number in range(entries):
            out.write(
                '<Ntry><Amt Ccy="BDT">1500.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt>'
                f"<Dt>2026-10-01</Dt></BookgDt><ValDt><Dt>2026-10-01</Dt></ValDt><AcctSvcrRef>MB-PMT-{number}"
                "</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
                "</BkTxCd><NtryDtls><TxDtls><Refs><MsgId>SPMIS-B1-A1</MsgId><PmtInfId>SPMIS-B1-A1-1</PmtInfId>"
                f'<EndToEndId>SPMIS-1-{number:08d}</EndToEndId></Refs><Amt Ccy="BDT">1500.00</Amt>'
                "<CdtDbtInd>DBIT</CdtDbtInd><RltdPties><Cdtr><Pty><Nm>Rahima Begum</Nm></Pty></Cdtr><CdtrAcct><Id>"
                f"<Othr><Id>2000{number:08d}</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>\n"
            )
        out.write("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n")


def measure(path: Path, entries: int, entry_tag: str) -> tuple[float, float]:
    start = time.perf_counter()
    for _event, element in etree.iterparse(str(path), events=("end",), tag=entry_tag):
        element.getparent().remove(element)
    bare = entries / (time.perf_counter() - start)
    start = time.perf_counter()
    with read_status_file(path) as status_file:
        read = sum(1 for _entry in status_file.entries())
    seconds = time.perf_counter() - start
    assert read == status_file.info.entries == entries, (read, status_file.info.entries)
    return entries / seconds, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as folder:
        pain = Path(folder) / "pain.002.xml"
        camt = Path(folder) / "camt.054.xml"
        write_pain002(pain, args.entries)
        write_camt054(camt, args.entries)
        print(f"pain.002: {pain.stat().st_size / 1e6:.0f} MB, camt.054: {camt.stat().st_size / 1e6:.0f} MB")
        pain_rate, pain_bare = measure(pain, args.entries, f"{{{PAIN002}}}TxInfAndSts")
        print(f"pain.002: {pain_rate:.0f} entries/s validated and read (bare lxml pass: {pain_bare:.0f}/s)")
        camt_rate, camt_bare = measure(camt, args.entries, f"{{{CAMT054}}}Ntry")
        print(f"camt.054: {camt_rate:.0f} entries/s validated and read (bare lxml pass: {camt_bare:.0f}/s)")
    # The last line printed, for scripts: RESULT payment_reports key=value ...
    result_line(
        "payment_reports",
        entries=args.entries,
        pain002_per_s=pain_rate,
        pain002_bare_lxml_per_s=pain_bare,
        camt054_per_s=camt_rate,
        camt054_bare_lxml_per_s=camt_bare,
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
