"""The bank side against the real mock-bank on loopback: connectors submit pain.001 files and fetch the status files,
the readers turn them into records. No database: these are pure modules.

The pain.001 here is built by a small local builder (the product's writer lives elsewhere); it is what our product
sends: BDT, accounts by number (`Othr/Id`), the creditor's bank by routing number.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from programs.payments.connectors import (
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorError,
    DownloadConnector,
    DuplicateSubmission,
    FolderDropConnector,
    HttpApiConnector,
    SubmitUnknown,
    connector_for,
)
from programs.payments.reports import StatusFileError, file_rejection_entries, iso, read_status_file
from programs.payments.reports.iso import XSD_DIR
from tests.programs.mockbank import DEBTOR_ACCOUNT, ROUTING, MockBank

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the main checkout (a helper's worktree sits one level deeper).
SHARED = next(
    (p / "data/iso20022" for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), None
)
PAIN001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
OTHER_BANK = "015261726"  # a BEFTN routing number: not this bank, so the payment simply settles


def pain001(msg_id: str, payments: list[tuple[str, str, str]], *, day: str = "2026-10-01", routing=ROUTING) -> bytes:
    """A pain.001.001.09 paying (EndToEndId, creditor account number, amount) from the programme account in BDT."""

    def add(parent, tag, text=None, **attributes):
        element = etree.SubElement(parent, f"{{{PAIN001}}}{tag}", **attributes)
        if text is not None:
            element.text = str(text)
        return element

    total = sum(Decimal(amount) for _e2e, _account, amount in payments)
    root = etree.Element(f"{{{PAIN001}}}Document", nsmap={None: PAIN001})
    body = add(root, "CstmrCdtTrfInitn")
    header = add(body, "GrpHdr")
    add(header, "MsgId", msg_id)
    add(header, "CreDtTm", "2026-10-01T08:00:00+06:00")
    add(header, "NbOfTxs", len(payments))
    add(header, "CtrlSum", total)
    add(add(header, "InitgPty"), "Nm", "SPMIS programme")
    batch = add(body, "PmtInf")
    add(batch, "PmtInfId", f"{msg_id}-1")
    add(batch, "PmtMtd", "TRF")
    add(batch, "NbOfTxs", len(payments))
    add(batch, "CtrlSum", total)
    add(add(batch, "ReqdExctnDt"), "Dt", day)
    add(add(batch, "Dbtr"), "Nm", "SPMIS programme")
    add(add(add(add(batch, "DbtrAcct"), "Id"), "Othr"), "Id", DEBTOR_ACCOUNT)
    add(add(add(batch, "DbtrAgt"), "FinInstnId"), "BICFI", "MOCKNL2A")
    for end_to_end_id, account, amount in payments:
        tx = add(batch, "CdtTrfTxInf")
        add(add(tx, "PmtId"), "EndToEndId", end_to_end_id)
        add(add(tx, "Amt"), "InstdAmt", amount, Ccy="BDT")
        agent = routing(account) if callable(routing) else routing
        add(add(add(add(tx, "CdtrAgt"), "FinInstnId"), "ClrSysMmbId"), "MmbId", agent)
        add(add(tx, "Cdtr"), "Nm", f"Beneficiary {end_to_end_id}")
        add(add(add(add(tx, "CdtrAcct"), "Id"), "Othr"), "Id", account)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if SHARED is not None:
        etree.XMLSchema(etree.parse(str(SHARED / "pain.001.001.09.xsd"))).assertValid(etree.fromstring(data))
    return data


def import_all(connector) -> list:
    """Fetch, read and acknowledge every waiting report: [(ReportInfo, [StatusEntry, ...]), ...]."""
    reports = list(connector.fetch_reports())
    read = []
    for report in reports:
        status_file = read_status_file(report.source, name=report.name)
        read.append((status_file.info, list(status_file.entries())))
    connector.acknowledge([report.id for report in reports])
    return read


def by_reference(read, kind: str) -> dict:
    return {entry.end_to_end_id: entry for info, entries in read if info.kind.startswith(kind) for entry in entries}


@pytest.fixture
def beneficiaries(mock_bank: MockBank):
    mock_bank.creditor("BEN-OK", "2000000001")
    mock_bank.creditor("BEN-CLOSED", "2000000002", behaviour="closed-account")
    mock_bank.creditor("BEN-BADBANK", "2000000003", behaviour="bad-bank-id")
    return mock_bank


def test_a_file_through_the_api_comes_back_accepted_failed_in_words_and_paid(beneficiaries: MockBank):
    bank = beneficiaries
    # 5,000 taka on the programme account: the fourth payment (4,000) no longer fits once the first is taken.
    bank.debtor(balance=Decimal("5000.00"), behaviour="insufficient-funds")
    connector = HttpApiConnector(bank.config())
    content = pain001(
        "SPMIS-B1-A1",
        [
            ("E2E-OK", "2000000001", "1500.00"),
            ("E2E-CLOSED", "2000000002", "2500.50"),
            ("E2E-BADBANK", "2000000003", "100.00"),
            ("E2E-NOFUNDS", "2000000001", "4000.00"),
            ("E2E-ELSEWHERE", "3000000001", "200.00"),
        ],
        routing=lambda account: OTHER_BANK if account.startswith("3") else ROUTING,
    )

    receipt = connector.submit("SPMIS-B1-A1.xml", content, "SPMIS-B1-A1")

    assert (receipt.accepted, receipt.status, receipt.transport) == (True, "PART", "api")
    assert receipt.sha256 == hashlib.sha256(content).hexdigest()
    read = import_all(connector)
    (status_info,) = [info for info, _entries in read if info.kind == "pain.002.001.10"]
    assert (status_info.original_msg_id, status_info.group_status, status_info.entries) == ("SPMIS-B1-A1", "PART", 5)
    assert (status_info.created_at.date(), status_info.created_at.tzinfo) == (datetime.date(2026, 10, 1), datetime.UTC)
    statuses = by_reference(read, "pain.002")
    assert {ref: (e.status, e.reason_code, e.reason_text) for ref, e in statuses.items()} == {
        "E2E-OK": ("accepted", None, None),
        "E2E-CLOSED": ("failed", "AC04", "account closed"),
        "E2E-BADBANK": ("failed", "RC01", "bank identifier incorrect"),
        "E2E-NOFUNDS": ("failed", "AM04", "insufficient funds"),
        "E2E-ELSEWHERE": ("accepted", None, None),
    }
    assert "3500.00 is available" in statuses["E2E-NOFUNDS"].bank_text  # the bank's own words are kept beside ours
    paid = by_reference(read, "camt.054")
    assert {ref: (e.status, e.amount, e.currency, e.booking_date) for ref, e in paid.items()} == {
        "E2E-OK": ("paid", Decimal("1500.00"), "BDT", datetime.date(2026, 10, 1)),
        "E2E-ELSEWHERE": ("paid", Decimal("200.00"), "BDT", datetime.date(2026, 10, 1)),
    }
    assert {e.original_msg_id for e in paid.values()} == {"SPMIS-B1-A1"}
    # Acknowledged: the mailbox no longer offers them, and nothing is imported twice.
    assert list(connector.fetch_reports()) == []
    assert bank.mailbox("pain.002") == [] and bank.mailbox("camt.054") == []


def test_a_late_return_after_paid_arrives_as_pacs004_with_its_reason(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor(behaviour="return-later", parameters={"days": 3, "reason": "MD07", "end_to_end_id": "E2E-BACK"})
    connector = HttpApiConnector(bank.config())
    connector.submit(
        "B2.xml",
        pain001("SPMIS-B2-A1", [("E2E-BACK", "2000000001", "1200.00"), ("E2E-STAYS", "2000000001", "800.00")]),
        "SPMIS-B2-A1",
    )
    first = import_all(connector)
    assert {ref: e.status for ref, e in by_reference(first, "camt.054").items()} == {
        "E2E-BACK": "paid",
        "E2E-STAYS": "paid",
    }

    bank.advance(days=6)  # Thursday + 3 business days = Tuesday
    later = import_all(connector)

    (returns_info,) = [info for info, _entries in later if info.kind == "pacs.004.001.09"]
    assert (returns_info.original_msg_id, returns_info.entries) == ("SPMIS-B2-A1", 1)
    returned = by_reference(later, "pacs.004")["E2E-BACK"]
    assert (returned.status, returned.reason_code, returned.reason_text) == (
        "returned",
        "MD07",
        "account holder deceased",
    )
    assert (returned.amount, returned.currency, returned.booking_date) == (
        Decimal("1200.00"),
        "BDT",
        datetime.date(2026, 10, 6),
    )
    # The camt.054 credit says the same return; the bank's reference ties the two to one event.
    credit = by_reference(later, "camt.054")["E2E-BACK"]
    assert (credit.status, credit.bank_reference) == ("returned", returned.bank_reference)
    assert "E2E-STAYS" not in by_reference(later, "pacs.004")


def test_a_resent_msg_id_is_refused_as_duplicate_and_the_first_file_stands(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor()
    connector = HttpApiConnector(bank.config())
    content = pain001("SPMIS-B3-A1", [("E2E-D1", "2000000001", "100.00")])
    connector.submit("B3.xml", content, "SPMIS-B3-A1")

    with pytest.raises(DuplicateSubmission) as refused:
        connector.submit("B3.xml", content, "SPMIS-B3-A1")

    assert (refused.value.msg_id, refused.value.reason_code) == ("SPMIS-B3-A1", "DUPL")
    assert "received before" in refused.value.reason_text
    assert connector.status("SPMIS-B3-A1").status == "ACCP"  # the bank's answer to the file, not to the resend
    infos = [info for info, _entries in import_all(connector) if info.kind.startswith("pain.002")]
    refusal = next(info for info in infos if info.group_status == "RJCT")
    assert refusal.duplicate_refusal and not refusal.file_rejected and refusal.original_msg_id == "SPMIS-B3-A1"
    assert bank.payment("E2E-D1")["status"] == "accepted"  # booked once


class AnswerLosingProxy:
    """Between the connector and the bank: forwards POST /payments to the bank, then loses the answer, either by
    closing the connection ("drop") or by sitting on it past the client's timeout ("slow")."""

    def __init__(self, upstream_port: int, mode: str) -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _address = self.listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ")
            headers = dict(line.split(": ", 1) for line in lines[1:])
            length = int(headers.get("Content-Length", 0))
            while len(body) < length:
                body += connection.recv(65536)
            upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=20)
            upstream.request(method, path, body=body, headers={"Content-Type": headers.get("Content-Type", "")})
            upstream.getresponse().read()  # the bank has the file and has answered...
            upstream.close()
            self.forwarded.set()
            if self.mode == "slow":
                time.sleep(2)  # ...and the answer never reaches the client in time
        self.listener.close()


@pytest.mark.parametrize("mode", ["drop", "slow"])
def test_a_lost_answer_is_resolved_by_asking_the_status_never_by_resending(beneficiaries: MockBank, mode: str):
    bank = beneficiaries
    bank.debtor()
    proxy = AnswerLosingProxy(bank.port, mode)
    through_proxy = HttpApiConnector(bank.config(base_url=f"http://127.0.0.1:{proxy.port}", timeout_seconds=0.5))
    content = pain001("SPMIS-B4-A1", [("E2E-T1", "2000000001", "100.00"), ("E2E-T2", "2000000002", "50.00")])
    direct = HttpApiConnector(bank.config())
    assert direct.status("SPMIS-B4-A1") is None  # before: the bank has nothing under that MsgId

    with pytest.raises(SubmitUnknown) as unknown:
        through_proxy.submit("B4.xml", content, "SPMIS-B4-A1")

    assert proxy.forwarded.wait(5) and unknown.value.msg_id == "SPMIS-B4-A1"
    answer = direct.status("SPMIS-B4-A1")
    assert (answer.status, answer.payments) == ("PART", 2)  # the bank has it: one accepted, one AC04
    assert bank.file_posts() == 1  # found without sending it again


def test_a_file_rejected_outright_fails_every_payment_of_it(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor(behaviour="reject-file")
    connector = HttpApiConnector(bank.config())

    receipt = connector.submit(
        "B5.xml",
        pain001("SPMIS-B5-A1", [("E2E-R1", "2000000001", "10.00"), ("E2E-R2", "2000000001", "20.00")]),
        "SPMIS-B5-A1",
    )

    assert (receipt.accepted, receipt.status, receipt.reason_code) == (False, "RJCT", "FF01")
    ((info, entries),) = import_all(connector)
    assert info.file_rejected and entries == [] and info.original_msg_id == "SPMIS-B5-A1"
    failed = list(file_rejection_entries(info, ["E2E-R1", "E2E-R2"]))
    assert [(e.end_to_end_id, e.status, e.reason_code, e.reason_text) for e in failed] == [
        ("E2E-R1", "failed", "FF01", "file format invalid"),
        ("E2E-R2", "failed", "FF01", "file format invalid"),
    ]
    assert connector.status("SPMIS-B5-A1").status == "RJCT"


def test_everything_mock_bank_sends_validates_against_the_official_xsds(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor(behaviour="return-later", parameters={"days": 1})
    connector = HttpApiConnector(bank.config())
    connector.submit(
        "B6.xml",
        pain001("SPMIS-B6-A1", [("E2E-V1", "2000000001", "10.00"), ("E2E-V2", "2000000002", "5.00")]),
        "SPMIS-B6-A1",
    )
    bank.request("POST", "/payments", raw=b"<not a payment file")
    bank.advance(days=4)
    messages = [m for m in bank.messages() if m["type"].startswith(("pain.002", "camt.054", "pacs.004"))]
    assert {m["type"] for m in messages} == {"pain.002.001.10", "camt.054.001.08", "pacs.004.001.09"}

    for message in messages:
        body = message["body"].encode()
        reference_dir = SHARED if SHARED is not None and (SHARED / f"{message['type']}.xsd").exists() else XSD_DIR
        schema = etree.XMLSchema(etree.parse(str(reference_dir / f"{message['type']}.xsd")))
        assert schema.validate(etree.fromstring(body)), (message["type"], schema.error_log)
        assert read_status_file(body, xsd_dir=reference_dir).info.kind == message["type"]
        assert read_status_file(body).info.kind == message["type"]  # and against the product's own copies


@pytest.mark.skipif(SHARED is None, reason="../shared/data/iso20022 is not beside this checkout")
def test_the_shipped_xsds_are_the_official_ones():
    readme = (XSD_DIR / "README.md").read_text()
    for path in sorted(XSD_DIR.glob("*.xsd")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in readme, path.name
        if (SHARED / path.name).exists():
            assert digest == hashlib.sha256((SHARED / path.name).read_bytes()).hexdigest(), path.name


def pretty(body: str) -> bytes:
    """A message one element per line, so that a line number points at one element."""
    return etree.tostring(etree.fromstring(body.encode()), pretty_print=True, xml_declaration=True, encoding="UTF-8")


def test_a_tampered_or_broken_report_is_refused_whole_naming_its_line(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor()
    HttpApiConnector(bank.config()).submit(
        "B7.xml",
        pain001("SPMIS-B7-A1", [("E2E-X1", "2000000001", "10.00"), ("E2E-X2", "2000000001", "20.00")]),
        "SPMIS-B7-A1",
    )
    status_report = pretty(bank.mailbox("pain.002")[0]["body"])
    notification = pretty(bank.mailbox("camt.054")[0]["body"])

    lines = status_report.decode().splitlines()
    second_status = [n for n, line in enumerate(lines, 1) if "<TxSts>" in line][1]
    tampered = status_report.replace(b"<TxSts>ACCP</TxSts>", b"<TxSts>PAID!</TxSts>").replace(
        b"<TxSts>PAID!</TxSts>", b"<TxSts>ACCP</TxSts>", 1
    )
    with pytest.raises(StatusFileError) as refused:
        read_status_file(tampered, name="pain002.xml")
    assert refused.value.line == second_status
    assert "TxSts" in refused.value.problem and str(refused.value).startswith(f"pain002.xml, line {second_status}:")

    amount_line = next(n for n, line in enumerate(notification.decode().splitlines(), 1) if "<Amt " in line)
    with pytest.raises(StatusFileError) as refused:
        read_status_file(notification.replace(b">10.00</Amt>", b">10,00</Amt>", 1))
    assert refused.value.line == amount_line and "Amt" in refused.value.problem

    # Without its MsgId, the header's next element is the one out of place.
    created_line = next(n for n, line in enumerate(lines, 1) if "<CreDtTm>" in line)
    with pytest.raises(StatusFileError) as refused:
        read_status_file(status_report.replace(b"<MsgId>MB-P002-000001</MsgId>", b""))
    assert refused.value.line == created_line and "Expected is ( MsgId )" in refused.value.problem

    with pytest.raises(StatusFileError) as refused:
        read_status_file(status_report[: len(status_report) // 2])
    assert refused.value.line > 0 and "not readable XML" in refused.value.problem

    with pytest.raises(StatusFileError, match="DOCTYPE"):
        read_status_file(status_report.replace(b"<Document", b"<!DOCTYPE Document []>\n<Document", 1))


@pytest.mark.parametrize("source", ["bytes", "file"])
def test_a_status_file_is_validated_whole_against_the_unchanged_xsd_naming_lines_past_65535(
    source, tmp_path, monkeypatch
):
    """One streamed pass of the official XSD: an entry wrong deep in a long file is named by its own line, however
    far, and nothing of the file is read. A file of this size on disk is validated by a second process while the
    reader reads it (iso._Beside); bytes in the same pass: the same verdict either way."""
    entry = (
        '<Ntry><Amt Ccy="BDT">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-03'
        "</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
        "</BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>SPM{n:013d}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>\n"
    )
    head = (
        "<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">"
        "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>MB-1</MsgId><CreDtTm>2026-12-03T09:00:12+00:00</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>MB-1</Id><CreDtTm>2026-12-03T09:00:12+00:00</CreDtTm><Acct><Id><Othr><Id>1</Id></Othr></Id>"
        "</Acct>\n"
    )
    tail = "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"

    started = []
    start = iso._Beside.start
    monkeypatch.setattr(iso._Beside, "start", lambda *args: started.append(start(*args)) or started[-1])

    def read(data: bytes):
        if source == "bytes":
            return read_status_file(data, name="long.xml")
        path = tmp_path / "long.xml"
        path.write_bytes(data)
        return read_status_file(path, name="long.xml")

    entries = [entry.format(amount="10.00", n=n) for n in range(70_010)]
    good = (head + "".join(entries) + tail).encode()
    report = read(good)
    assert report.info.entries == 70_010 and next(report.entries()).line == 3
    # Or handed to a sink as they are read (reconciliation COPYs them into its transaction), and kept nowhere else.
    staged = []
    sunk = read_status_file(good, sink=staged.append)
    assert sunk.sunk and len(staged) == 70_010 and staged[0] == next(report.entries())
    with pytest.raises(ValueError, match="sink"):
        next(sunk.entries())
    # "10,00" is refused by the XSD (a decimal) and could not be read either: the XSD's finding is what is said.
    entries[70_000] = entry.format(amount="10,00", n=70_000)
    with pytest.raises(StatusFileError) as refused:
        read((head + "".join(entries) + tail).encode())
    assert refused.value.line == 70_003 and "Amt" in refused.value.problem and "validate" in refused.value.problem
    entries[70_000] = entry.format(amount="10.00", n=70_000).replace("<Cd>BOOK</Cd>", "<Cd>BOOKED</Cd>")
    with pytest.raises(StatusFileError) as refused:
        read((head + "".join(entries) + tail).encode())
    assert refused.value.line == 70_003 and "Cd" in refused.value.problem
    cut = good[: -len(tail) - 1000]
    with pytest.raises(StatusFileError) as refused:
        read(cut)
    assert refused.value.line == cut.count(b"\n") + 1 > 70_000 and "not readable XML" in refused.value.problem
    with pytest.raises(StatusFileError) as refused:
        read(good[: good.index(b"</Ntry>") + len(b"</Ntry>")])
    assert refused.value.line == 3 and "cut short" in refused.value.problem
    # The four long files beside the reader when on disk; bytes (the sink's) and the short one in the same pass.
    on_disk = source == "file"
    assert [beside.running for beside in started] == [on_disk, False, on_disk, on_disk, on_disk, False]


@pytest.mark.parametrize("executable", [None, "/bin/false", "/nonexistent/python"])
def test_the_xsd_verdict_beside_the_reader_is_never_skipped(
    beneficiaries: MockBank, tmp_path, monkeypatch, caplog, executable
):
    """A file on disk validated by the second process (threshold lowered): its finding names the line; when that
    process cannot start or stops, the file is validated by the reader itself, never accepted unjudged."""
    bank = beneficiaries
    bank.debtor()
    HttpApiConnector(bank.config()).submit(
        "B8.xml", pain001("SPMIS-B8-A1", [("E2E-Y1", "2000000001", "10.00")]), "SPMIS-B8-A1"
    )
    status_report = pretty(bank.mailbox("pain.002")[0]["body"])
    status_line = next(n for n, line in enumerate(status_report.decode().splitlines(), 1) if "<TxSts>" in line)
    monkeypatch.setattr(iso, "BESIDE_MIN_BYTES", 0)
    if executable:
        monkeypatch.setattr(iso.sys, "executable", executable)
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(status_report)
    bad.write_bytes(status_report.replace(b"<TxSts>ACCP</TxSts>", b"<TxSts>PAID!</TxSts>"))
    assert read_status_file(good).info.entries == 1
    with pytest.raises(StatusFileError) as refused:
        read_status_file(bad, name="bad.xml")
    assert refused.value.line == status_line and "TxSts" in refused.value.problem
    assert ("XSD validator process" in caplog.text) == bool(executable)


def test_the_drop_folder_against_mock_banks_drop_and_pickup_folders(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor()
    connector = connector_for(bank.config(transport="sftp"))
    assert isinstance(connector, FolderDropConnector)
    content = pain001("SPMIS-B8-A1", [("E2E-F1", "2000000001", "75.00"), ("E2E-F2", "2000000003", "25.00")])

    receipt = connector.submit("SPMIS-B8-A1.xml", content, "SPMIS-B8-A1")
    again = connector.submit("SPMIS-B8-A1.xml", content, "SPMIS-B8-A1")  # same bytes: already done, nothing new

    assert receipt.accepted is None and receipt.reference == again.reference == str(bank.drop_dir / "SPMIS-B8-A1.xml")
    assert [p.name for p in bank.drop_dir.iterdir() if p.is_file()] == ["SPMIS-B8-A1.xml"]  # no temp file left
    with pytest.raises(DuplicateSubmission):
        connector.submit("SPMIS-B8-A1.xml", content.replace(b"75.00", b"76.00"), "SPMIS-B8-A1")
    assert connector.status("SPMIS-B8-A1").status == "waiting"

    assert bank.scan_drop()["scanned"] == 1
    assert connector.status("SPMIS-B8-A1").status == "PART"
    read = import_all(connector)
    assert {ref: (e.status, e.reason_code) for ref, e in by_reference(read, "pain.002").items()} == {
        "E2E-F1": ("accepted", None),
        "E2E-F2": ("failed", "RC01"),
    }
    assert by_reference(read, "camt.054")["E2E-F1"].amount == Decimal("75.00")
    assert list(connector.fetch_reports()) == []  # imported ones are archived, the statements stay
    assert sorted(p.name.split("-")[0] for p in (bank.pickup_dir / "imported").iterdir()) == [
        "camt.054.001.08",
        "pain.002.001.10",
    ]
    assert connector.status("SPMIS-B8-A1").status == "PART"  # still known from the archive


def test_credentials_are_sent_and_a_refusal_is_named(tmp_path):
    bank = MockBank(tmp_path / "bank", auth="spmis:s3cret").start()
    try:
        bank.debtor()
        good = HttpApiConnector(bank.config())
        bad = HttpApiConnector(bank.config(password="wrong"))
        with pytest.raises(ConnectorError, match="credentials"):
            bad.submit("B9.xml", pain001("SPMIS-B9-A1", [("E2E-A1", "3000000001", "5.00")]), "SPMIS-B9-A1")
        assert good.status("SPMIS-B9-A1") is None  # the refused request reached nothing
        assert good.submit("B9.xml", pain001("SPMIS-B9-A1", [("E2E-A1", "3000000001", "5.00")]), "SPMIS-B9-A1").accepted
    finally:
        bank.stop()


def test_a_file_whose_msg_id_is_not_the_recorded_one_is_never_sent(beneficiaries: MockBank):
    bank = beneficiaries
    bank.debtor()
    content = pain001("SPMIS-B10-A2", [("E2E-M1", "2000000001", "5.00")])
    for connector in (HttpApiConnector(bank.config()), DownloadConnector()):
        with pytest.raises(ConnectorError, match="nothing was sent"):
            connector.submit("B10.xml", content, "SPMIS-B10-A1")
    assert bank.file_posts() == 0
    receipt = DownloadConnector().submit("B10.xml", content, "SPMIS-B10-A2")
    assert (receipt.transport, receipt.accepted, receipt.sha256) == (
        "download",
        None,
        hashlib.sha256(content).hexdigest(),
    )


def test_connector_settings_are_checked_naming_the_field(monkeypatch):
    for values, field in [
        ({"transport": "carrier-pigeon"}, "transport"),
        ({"transport": "api"}, "base_url"),
        ({"transport": "sftp", "outbox_dir": "/srv/out"}, "inbox_dir"),
        ({"transport": "sftp", "outbox_dir": "out", "inbox_dir": "/srv/in"}, "outbox_dir"),
        ({"transport": "api", "base_url": "http://bank", "timeout_seconds": 0}, "timeout_seconds"),
        ({"transport": "api", "base_url": "http://bank", "report_types": ["camt.053"]}, "report_types"),
        ({"transport": "api", "base_url": "http://bank", "secret_key": "x"}, "secret_key"),
    ]:
        with pytest.raises(ConnectorConfigError) as refused:
            ConnectorConfig.from_dict(values)
        assert refused.value.field == field
    config = ConnectorConfig.from_dict(
        {"transport": "api", "base_url": "http://bank", "username": "u", "password_env": "SPMIS_TEST_BANK_PW"}
    )
    with pytest.raises(ConnectorConfigError, match="SPMIS_TEST_BANK_PW"):
        HttpApiConnector(config)
    monkeypatch.setenv("SPMIS_TEST_BANK_PW", "pw")
    assert HttpApiConnector(config).headers["authorization"].startswith("Basic ")
    assert "password" not in config.to_dict() and ConnectorConfig.from_dict(config.to_dict()) == config


def test_a_pain002_of_the_2009_set_reads_the_same():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>BANK-STS-1</MsgId><CreDtTm>2026-10-01T10:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>SPMIS-B11-A1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>SPMIS-B11-A1-1</OrgnlPmtInfId>
      <TxInfAndSts><OrgnlEndToEndId>E2E-O1</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
      <TxInfAndSts><OrgnlEndToEndId>E2E-O2</OrgnlEndToEndId><TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC01</Cd></Rsn></StsRsnInf>
        <OrgnlTxRef><Amt><InstdAmt Ccy="BDT">300.00</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"""
    status_file = read_status_file(body, xsd_dir=SHARED or XSD_DIR)
    assert (status_file.info.kind, status_file.info.created_at.tzinfo) == ("pain.002.001.03", datetime.UTC)
    assert [(e.line, e.end_to_end_id, e.status, e.reason_text, e.amount) for e in status_file.entries()] == [
        (8, "E2E-O1", "accepted", None, None),
        (9, "E2E-O2", "failed", "account number incorrect", Decimal("300.00")),
    ]


CSV_GOOD = (
    "\ufeffReference,Status,Reason,Amount,Currency,Date\r\n"
    "SPMIS-1-0001,paid,,1500.00,BDT,2026-10-01\r\n"
    "SPMIS-1-0002,failed,AC04,2500.50,BDT,\r\n"
    "SPMIS-1-0003,failed,Wallet not registered,800,BDT,\r\n"
    "\r\n"
)


def test_a_mobile_money_csv_status_file_reads_into_the_same_records(tmp_path):
    path = tmp_path / "bkash-status.csv"
    path.write_text(CSV_GOOD, encoding="utf-8")
    status_file = read_status_file(path)
    assert (status_file.info.kind, status_file.info.entries, status_file.info.name) == (
        "status.csv",
        3,
        "bkash-status.csv",
    )
    assert status_file.info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [
        (e.line, e.end_to_end_id, e.status, e.reason_code, e.reason_text, e.amount, e.booking_date)
        for e in status_file.entries()
    ] == [
        (2, "SPMIS-1-0001", "paid", None, None, Decimal("1500.00"), datetime.date(2026, 10, 1)),
        (3, "SPMIS-1-0002", "failed", "AC04", "account closed", Decimal("2500.50"), None),
        (4, "SPMIS-1-0003", "failed", None, "Wallet not registered", Decimal("800"), None),
    ]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("SPMIS-1-0004,paid,,1.500,00,BDT,", "row 4 has 7 values for 6 columns"),
        ("SPMIS-1-0004,paid,,12e3,BDT,", "row 4, amount: '12e3' is not an amount"),
        ("SPMIS-1-0004,failed,,10.00,BDT,", "row 4, reason: a failed payment needs a reason"),
        ("SPMIS-1-0004,done,,10.00,BDT,", "row 4, status: 'done' is not one of"),
        ("SPMIS-1-0004,paid,,10.00,taka,", "row 4, currency"),
        ("SPMIS-1-0004,paid,,10.00,BDT,01/10/2026", "row 4, date"),
        ("SPMIS 1 0004 with a far too long reference,paid,,10.00,BDT,", "row 4, reference"),
    ],
)
def test_a_bad_csv_row_refuses_the_whole_file_naming_the_row(bad_row: str, message: str):
    body = (CSV_GOOD.rstrip("\r\n") + "\r\n" + bad_row + "\r\n").encode()
    with pytest.raises(StatusFileError) as refused:
        read_status_file(body, name="status.csv")
    assert message in refused.value.problem and refused.value.line == 5


def test_a_csv_without_its_columns_is_refused_at_the_header():
    with pytest.raises(StatusFileError, match="column 'currency' is missing") as refused:
        read_status_file(b"reference,status,reason,amount\nX,paid,,1.00\n")
    assert refused.value.line == 1
    with pytest.raises(StatusFileError, match="unknown column 'msisdn'"):
        read_status_file(b"reference,status,reason,amount,currency,msisdn\n")


def test_a_batch_rejected_whole_and_a_status_given_per_batch_only():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>BANK-STS-2</MsgId><CreDtTm>2026-10-01T15:00:00+06:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>SPMIS-B12-A1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>SPMIS-B12-A1-1</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
      <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>SPMIS-B12-A1-2</OrgnlPmtInfId><PmtInfSts>ACCP</PmtInfSts>
      <TxInfAndSts><OrgnlEndToEndId>E2E-Z1</OrgnlEndToEndId></TxInfAndSts></OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"""
    with read_status_file(body) as status_file:
        info = status_file.info
        assert info.created_at == datetime.datetime(2026, 10, 1, 9, 0, tzinfo=datetime.UTC)
        assert not info.file_rejected and info.rejected_batches == (("SPMIS-B12-A1-1", "AM04", "insufficient funds"),)
        assert [(e.end_to_end_id, e.status, e.pmt_inf_id) for e in status_file.entries()] == [
            ("E2E-Z1", "accepted", "SPMIS-B12-A1-2")
        ]
    failed = list(file_rejection_entries(info, ["E2E-Y1"], pmt_inf_id="SPMIS-B12-A1-1"))
    assert [(e.end_to_end_id, e.status, e.reason_text, e.original_msg_id) for e in failed] == [
        ("E2E-Y1", "failed", "insufficient funds", "SPMIS-B12-A1")
    ]
    with pytest.raises(ValueError, match="does not reject a whole file"):
        file_rejection_entries(info, ["E2E-Y1"])
    with pytest.raises(ValueError, match="closed"):
        list(status_file.entries())
