"""Payment files without the database: pain.001 (.09 and .03) against the shipped XSDs and against mock-bank's
reader, exact amounts, fitted texts, totals that must agree, constant memory, and the mobile money and cash agent
files."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from mockbank import messages as mockbank_messages
from mockbank import validate as mockbank_validate

from programs.payments.files import xsd
from programs.payments.files.cash import CashRecipient, write_cash_list_csv, write_cash_list_html
from programs.payments.files.mobile import MobilePayout, write_mobile_csv, write_mobile_json
from programs.payments.files.pain001 import (
    FileHeader,
    Party,
    PaymentFileError,
    TotalsMismatch,
    Transfer,
    split_sizes,
    split_transfers,
    write_pain001,
)
from programs.payments.files.text import fit_text
from programs.payments.files.validator import Beside, Inline
from programs.payments.files.xsd import (
    SCHEMAS,
    XSD_DIR,
    Finding,
    InvalidFile,
    ensure_valid,
    message_name,
    schema,
    validate_file,
    validate_files,
)

CREATED = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)
NS9 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


def header(transfers: list[Transfer], currency: str = "BDT", **changes) -> FileHeader:
    fields = {
        "msg_id": "PB-12-F1-A1",
        "created_at": CREATED,
        "initiating_party": "Department of Social Services",
        "debtor": Party(name="DSS Cash Transfer Programme", other_id="0012345678901", clearing_member_id="010261234"),
        "payment_info_id": "PB-12-F1",
        "execution_date": datetime.date(2026, 12, 3),
        "currency": currency,
    }
    fields |= changes
    fields.setdefault("nb_of_txs", len(transfers))
    if "ctrl_sum" not in fields:
        fields["ctrl_sum"] = sum((t.amount for t in transfers), Decimal(0))
    return FileHeader(**fields)


def bank(number: int, amount: str = "5000.00", **changes) -> Transfer:
    fields = {
        "end_to_end_id": f"PB12-{number:08d}",
        "amount": Decimal(amount),
        "currency": "BDT",
        "creditor_name": "Rahima Begum",
        "account_kind": "bank",
        "account_number": f"{1234567890000 + number}",
        "routing_number": "010261234",
        "remittance": f"ENT-2026-{number:06d}",
    }
    return Transfer(**(fields | changes))


def mixed() -> list[Transfer]:
    return [
        bank(1),
        bank(2, "4999.50", creditor_name="রহিমা বেগম", instruction_id="I-2"),
        Transfer(
            "PB12-00000003",
            Decimal("2500.25"),
            "BDT",
            "Nasima Akter",
            "mobile_wallet",
            "+8801712345678",
            remittance="X",
        ),
        Transfer(
            "PB12-00000004",
            Decimal("1000"),
            "BDT",
            "Jörg Müller",
            "iban",
            "DE89 3704 0044 0532 0130 00",
            bic="COBADEFFXXX",
        ),
        bank(5, bic="BBHOBDDH"),
    ]


def written(transfers: list[Transfer], version: str = "pain.001.001.09", **changes) -> bytes:
    out = io.BytesIO()
    write_pain001(out, header(transfers, **changes), transfers, version=version)
    return out.getvalue()


def save(tmp_path: Path, data: bytes, name: str = "file.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


# --- the shipped schemas -----------------------------------------------------------------------------------------


def test_every_shipped_schema_is_in_the_readme_with_its_sha256():
    readme = (XSD_DIR / "README.md").read_text()
    listed = dict(re.findall(r"^\| `([\w.]+)\.xsd` \|.*\| `([0-9a-f]{64})` \|$", readme, re.M))
    on_disk = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in XSD_DIR.glob("*.xsd")}
    assert listed == on_disk
    assert set(SCHEMAS) == set(on_disk)


def test_a_schema_is_parsed_once_and_an_unknown_one_is_refused_by_name():
    assert schema("pain.001.001.09") is schema("pain.001.001.09")
    with pytest.raises(ValueError, match=re.escape("pacs.008.001.08")):
        schema("pacs.008.001.08")


# --- pain.001 against the XSDs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["pain.001.001.09", "pain.001.001.03"])
def test_both_versions_validate_against_the_shipped_xsd(tmp_path, version):
    path = save(tmp_path, written(mixed(), version=version))
    assert validate_file(path, version) == []
    assert message_name(path) == version
    ensure_valid(path, version)  # raises nothing


def test_accounts_are_written_as_iban_or_othr_with_their_agents():
    root = etree.fromstring(written(mixed()))
    ns = {"p": NS9}
    transactions = root.findall(".//p:CdtTrfTxInf", ns)
    by_id = {t.findtext("p:PmtId/p:EndToEndId", namespaces=ns): t for t in transactions}

    bank_tx = by_id["PB12-00000001"]
    assert bank_tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=ns) == "1234567890001"
    assert bank_tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:SchmeNm/p:Cd", namespaces=ns) == "BBAN"
    member = "p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId"
    assert bank_tx.findtext(f"{member}/p:MmbId", namespaces=ns) == "010261234"
    assert bank_tx.findtext(f"{member}/p:ClrSysId/p:Prtry", namespaces=ns) == "BEFTN"
    assert bank_tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns) == "ENT-2026-000001"
    assert by_id["PB12-00000005"].findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=ns) == "BBHOBDDH"

    wallet = by_id["PB12-00000003"]
    assert wallet.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=ns) == "+8801712345678"
    assert wallet.findtext("p:CdtrAcct/p:Id/p:Othr/p:SchmeNm/p:Prtry", namespaces=ns) == "MSISDN"
    assert wallet.find("p:CdtrAgt", ns) is None

    iban = by_id["PB12-00000004"]
    assert iban.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == "DE89370400440532013000"
    assert iban.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=ns) == "COBADEFFXXX"
    assert iban.find("p:CdtrAcct/p:Id/p:Othr", ns) is None

    assert by_id["PB12-00000002"].findtext("p:PmtId/p:InstrId", namespaces=ns) == "I-2"
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "5"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "18499.75"
    assert root.findtext(".//p:PmtInf/p:CtrlSum", namespaces=ns) == "18499.75"


def test_the_03_version_names_the_bic_as_bic_and_the_date_plainly():
    root = etree.fromstring(written(mixed(), version="pain.001.001.03"))
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    assert root.findtext(".//p:PmtInf/p:ReqdExctnDt", namespaces=ns) == "2026-12-03"
    assert root.findtext(".//p:CdtTrfTxInf/p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=ns) == "COBADEFFXXX"


@pytest.mark.parametrize(
    ("currency", "amounts", "texts", "total"),
    [
        ("BDT", ["5000", "0.01", "1234.50"], ["5000.00", "0.01", "1234.50"], "6234.51"),
        ("JPY", ["5000", "12"], ["5000", "12"], "5012"),
        ("KWD", ["12.5", "0.001", "7.125"], ["12.500", "0.001", "7.125"], "19.626"),
    ],
)
def test_amounts_are_written_exactly_with_the_currencys_minor_unit(tmp_path, currency, amounts, texts, total):
    transfers = [
        bank(
            n,
            amount,
            currency=currency,
            account_kind="iban",
            account_number="DE89370400440532013000",
            routing_number="",
        )
        for n, amount in enumerate(amounts)
    ]
    data = written(transfers, currency=currency)
    root = etree.fromstring(data)
    amount_elements = root.findall(f".//{{{NS9}}}InstdAmt")
    assert [a.text for a in amount_elements] == texts
    assert {a.get("Ccy") for a in amount_elements} == {currency}
    assert root.findtext(f".//{{{NS9}}}GrpHdr/{{{NS9}}}CtrlSum") == total
    assert validate_file(save(tmp_path, data), "pain.001.001.09") == []


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (5000.0, "must be a Decimal, not float"),
        (Decimal("5000.005"), "more decimals than BDT allows"),
        (Decimal("0"), "not between 0"),
        (Decimal("-5"), "not between 0"),
        (Decimal("NaN"), "not an amount"),
    ],
)
def test_an_amount_that_is_not_exact_is_refused_naming_the_payment(amount, words):
    transfer = dataclasses.replace(bank(7), amount=amount)
    with pytest.raises(PaymentFileError, match=re.escape("payment 'PB12-00000007': amount")) as caught:
        written([transfer], ctrl_sum=Decimal("5000.00"), nb_of_txs=1)
    assert words in str(caught.value)


def test_the_same_rows_give_the_same_bytes_and_the_summary_hashes_them(tmp_path):
    first = io.BytesIO()
    summary = write_pain001(first, header(mixed()), mixed())
    second = tmp_path / "again.xml"
    again = write_pain001(second, header(mixed()), mixed())
    assert first.getvalue() == second.read_bytes()
    assert summary.sha256 == again.sha256 == hashlib.sha256(first.getvalue()).hexdigest()
    assert summary.size_bytes == len(first.getvalue())
    assert (summary.nb_of_txs, summary.ctrl_sum) == (5, Decimal("18499.75"))
    assert again.path == second and not (tmp_path / "again.xml.part").exists()


# --- totals ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"nb_of_txs": 4}, {"nb_of_txs": 6}, {"ctrl_sum": Decimal("18499.74")}],
)
def test_rows_that_disagree_with_the_declared_totals_raise_and_leave_no_file(tmp_path, changes):
    path = tmp_path / "batch.xml"
    with pytest.raises(TotalsMismatch, match="the file is discarded"):
        write_pain001(path, header(mixed(), **changes), mixed())
    assert list(tmp_path.iterdir()) == []


def test_a_failing_row_leaves_no_file_either(tmp_path):
    rows = [*mixed(), bank(9, end_to_end_id="X" * 36)]
    with pytest.raises(PaymentFileError, match="36 characters long; the most is 35"):
        write_pain001(tmp_path / "batch.xml", header(rows), rows)
    assert list(tmp_path.iterdir()) == []


def test_split_sizes_cover_the_batch_and_each_file_carries_its_own_totals(tmp_path):
    assert split_sizes(25, 10) == [10, 10, 5]
    assert split_sizes(20, 10) == [10, 10]
    assert split_sizes(0, 10) == []
    with pytest.raises(ValueError, match="max_per_file"):
        split_sizes(5, 0)
    rows = [bank(n, f"{1000 + n}.00") for n in range(25)]
    groups = list(split_transfers(rows, 10))
    assert [len(g) for g in groups] == split_sizes(25, 10)
    for number, group in enumerate(groups):
        path = tmp_path / f"file{number}.xml"
        summary = write_pain001(path, header(group, msg_id=f"PB-12-F{number}-A1"), group)
        assert validate_file(path, "pain.001.001.09") == []
        assert summary.ctrl_sum == sum(t.amount for t in group)
    assert sum(len(g) for g in groups) == 25


# --- texts and identifiers ---------------------------------------------------------------------------------------


def test_names_are_fitted_to_140_characters_and_kept_in_their_script(tmp_path):
    long_name = "Mohammad " * 30
    rows = [bank(1, creditor_name=long_name), bank(2, creditor_name="  রহিমা\tবেগম  ")]
    data = written(rows)
    names = [n.text for n in etree.fromstring(data).iterfind(f".//{{{NS9}}}Cdtr/{{{NS9}}}Nm")]
    assert len(names[0]) <= 140 and long_name.startswith(names[0])
    assert names[1] == "রহিমা বেগম"
    assert validate_file(save(tmp_path, data), "pain.001.001.09") == []


def test_the_latin_charset_takes_accents_off_and_refuses_a_name_with_no_latin_letter():
    assert fit_text("Jörg Müller-Łukasz & Søn", 140, field="name", charset="latin") == "Jorg Muller-Lukasz Son"
    assert fit_text("Ａｂｃ", 140, field="name", charset="latin") == "Abc"
    data = written([bank(1, creditor_name="Zoë Ærø")], charset="latin")
    assert b"<Nm>Zoe AEro</Nm>" in data
    with pytest.raises(PaymentFileError, match="payment 'PB12-00000001': creditor_name has no character"):
        written([bank(1, creditor_name="রহিমা বেগম")], charset="latin")


def test_a_cut_never_separates_a_letter_from_its_combining_mark():
    text = "a" * 139 + "q\u0301" + "z"  # q + combining acute (no precomposed form) straddles the 140th character
    fitted = fit_text(text, 140, field="name")
    assert fitted == "a" * 139
    assert len(fit_text("x" * 200, 140, field="name")) == 140


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"end_to_end_id": ""}, "end_to_end_id"),
        ({"end_to_end_id": " PB12-1"}, "spaces around it"),
        ({"account_kind": "cheque"}, "account_kind 'cheque'"),
        ({"account_kind": "mobile_wallet", "account_number": "01712345678"}, "E.164"),
        ({"account_kind": "iban", "account_number": "1234"}, "not an IBAN"),
        ({"routing_number": ""}, "needs its routing_number"),
        ({"bic": "BANK"}, "not a BIC"),
        ({"currency": "USD"}, "differs from the file's BDT"),
        ({"creditor_name": " \t "}, "creditor_name is empty"),
    ],
)
def test_a_row_that_cannot_be_written_names_its_field(changes, words):
    with pytest.raises(PaymentFileError, match=re.escape(words)):
        written([bank(1, **changes)], ctrl_sum=Decimal("5000.00"), nb_of_txs=1)


def test_a_header_that_cannot_be_written_names_its_field():
    with pytest.raises(PaymentFileError, match="msg_id"):
        written([bank(1)], msg_id="M" * 36)
    with pytest.raises(PaymentFileError, match="created_at"):
        written([bank(1)], created_at=datetime.datetime(2026, 12, 2, 6, 0))
    with pytest.raises(PaymentFileError, match="debtor"):
        written([bank(1)], debtor=Party(name="DSS"))
    with pytest.raises(PaymentFileError, match="version"):
        written([bank(1)], version="pain.001.001.12")


# --- validation findings ------------------------------------------------------------------------------------------


def test_a_wrong_ctrl_sum_type_is_reported_on_its_line(tmp_path):
    data = written(mixed()).replace(b"<CtrlSum>18499.75</CtrlSum>", b"<CtrlSum>a lot</CtrlSum>", 1)
    findings = validate_file(save(tmp_path, data), "pain.001.001.09")
    assert findings[0].line == line_of(data, b"<CtrlSum>a lot")
    assert "CtrlSum" in findings[0].message and "a lot" in findings[0].message
    assert "urn:iso" not in findings[0].message


def test_a_missing_element_is_reported_on_its_line_and_refused_for_release(tmp_path):
    data = written(mixed()).replace(b"<PmtMtd>TRF</PmtMtd>\n", b"")
    path = save(tmp_path, data)
    findings = validate_file(path, "pain.001.001.09")
    assert findings and findings[0].line == line_of(data, b"<NbOfTxs>5</NbOfTxs>\n<CtrlSum>")
    assert "PmtMtd" in findings[0].message
    with pytest.raises(InvalidFile, match=re.escape("not a valid pain.001.001.09")) as caught:
        ensure_valid(path, "pain.001.001.09")
    assert caught.value.findings == findings


def test_totals_that_the_xsd_cannot_check_are_recounted(tmp_path):
    data = written(mixed())
    data = data.replace(b"<NbOfTxs>5</NbOfTxs>", b"<NbOfTxs>6</NbOfTxs>").replace(
        b'<InstdAmt Ccy="BDT">2500.25</InstdAmt>', b'<InstdAmt Ccy="BDT">2500.26</InstdAmt>'
    )
    findings = validate_file(save(tmp_path, data), "pain.001.001.09")
    messages = [f.message for f in findings]
    assert "PmtInf PB-12-F1: NbOfTxs says 6 but 5 transactions follow." in messages
    assert "GrpHdr: CtrlSum says 18499.75 but the amounts sum to 18499.76." in messages
    group_header = line_of(data, b"<GrpHdr>")
    payment_info = line_of(data, b"<PmtInfId>")
    assert len(findings) == 4
    assert {f.line for f in findings} == {group_header, payment_info + 2, payment_info + 3}


def test_the_files_of_a_split_batch_are_validated_side_by_side(tmp_path):
    good = save(tmp_path, written(mixed()), "good.xml")
    bad = save(tmp_path, written(mixed()).replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>PAY</PmtMtd>"), "bad.xml")
    sequential = validate_files([good, bad, good], "pain.001.001.09")
    assert validate_files([good, bad, good], "pain.001.001.09", processes=2) == sequential
    assert sequential[0] == sequential[2] == [] and "PAY" in sequential[1][0].message


def test_files_validated_in_a_process_beside_get_the_same_verdicts_even_if_it_dies(tmp_path):
    good = save(tmp_path, written(mixed()), "good.xml")
    bad = save(tmp_path, written(mixed()).replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>PAY</PmtMtd>"), "bad.xml")
    files = [good, bad, good]
    with Inline() as inline:
        for path in files:
            inline.submit(path, "pain.001.001.09")
        expected = inline.verdicts()
    assert expected[0] == expected[2] == [] and "PAY" in expected[1][0].message
    with Beside() as beside:
        for path in files:
            beside.submit(path, "pain.001.001.09")
        assert beside.verdicts() == expected and beside.seconds > 0
    with Beside() as beside:  # the process is killed before it judged anything: the files are judged here
        beside._process.kill()
        beside._process.wait()
        for path in files:
            beside.submit(path, "pain.001.001.09")
        assert beside.verdicts() == expected


def test_a_file_of_another_message_or_not_xml_or_with_a_dtd_is_refused_in_words(tmp_path):
    other = save(tmp_path, written(mixed(), version="pain.001.001.03"), "other.xml")
    (finding,) = validate_file(other, "pain.001.001.09")
    assert finding.line == 2 and "Document" in finding.message
    broken = save(tmp_path, b"<Document><unclosed></Document>", "broken.xml")
    assert validate_file(broken, "pain.001.001.09")[0].line == 1
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f'<Document xmlns="{NS9}"><CstmrCdtTrfInitn>&x;</CstmrCdtTrfInitn></Document>'
    ).encode()
    findings = validate_file(save(tmp_path, xxe, "xxe.xml"), "pain.001.001.09")
    assert findings and all("do not read me" not in f.message for f in findings)
    assert "DTD" in findings[0].message


def test_lines_are_counted_past_what_libxml2_counts(tmp_path):
    # libxml2 keeps 16-bit line numbers and says line 0 for schema errors found while streaming; the validator
    # feeds the file a line at a time and counts them itself.
    data = written([bank(1)]).replace(b"<CdtTrfTxInf>", b"\n" * 70_000 + b"<CdtTrfTxInf>")
    data = data.replace(b"<Nm>Rahima Begum</Nm>", b"<Nm></Nm>")
    (finding,) = validate_file(save(tmp_path, data), "pain.001.001.09")
    assert finding.line == line_of(data, b"<Nm></Nm>") > 70_000
    assert "Nm" in finding.message and "minimum length" in finding.message


def test_our_files_are_validated_in_pieces_with_the_files_own_lines_and_totals(tmp_path, monkeypatch):
    # Three pieces of two transactions: a finding in the last names its line in the file, as the streamed validator
    # does, and the totals are those of every piece.
    monkeypatch.setattr(xsd, "PIECE_TRANSACTIONS", 2)
    data = written(mixed())
    path = save(tmp_path, data)
    assert xsd._validate_in_pieces(path, "pain.001.001.09") == [] == validate_file(path, "pain.001.001.09")
    broken = data.replace("<Nm>Jörg Müller</Nm>".encode(), b"<Nm></Nm>")
    (finding,) = xsd._validate_in_pieces(save(tmp_path, broken, "broken.xml"), "pain.001.001.09")
    assert finding.line == line_of(broken, b"<Nm></Nm>") and "minimum length" in finding.message
    miscounted = data.replace(b"<NbOfTxs>5</NbOfTxs>", b"<NbOfTxs>4</NbOfTxs>", 1)
    (finding,) = xsd._validate_in_pieces(save(tmp_path, miscounted, "miscounted.xml"), "pain.001.001.09")
    assert finding == Finding(line_of(data, b"<NbOfTxs>5"), "GrpHdr: NbOfTxs says 4 but 5 transactions follow.")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda data: data.replace(b"</CdtTrfTxInf>\n<CdtTrfTxInf>", b"</CdtTrfTxInf><CdtTrfTxInf>", 1),
            id="two transactions on a line",
        ),
        pytest.param(
            lambda data: data.replace(b"</CdtTrfTxInf>\n", b"</CdtTrfTxInf>\n<ChrgBr>DEBT</ChrgBr>\n", 2),
            id="an element between transactions",
        ),
        pytest.param(lambda data: data.replace(b"\n", b""), id="on one line"),
    ],
)
def test_a_file_laid_out_otherwise_is_judged_by_the_streamed_validator(tmp_path, monkeypatch, change):
    monkeypatch.setattr(xsd, "PIECE_TRANSACTIONS", 2)
    data = change(written(mixed()))
    path = save(tmp_path, data)
    assert xsd._validate_in_pieces(path, "pain.001.001.09") is None
    findings = validate_file(path, "pain.001.001.09")
    if b"</CdtTrfTxInf>\n<ChrgBr>" in data:  # after a transaction, ChrgBr is not allowed: the XSD says so
        assert findings and "ChrgBr" in findings[0].message
    else:
        assert findings == []


def test_a_file_cut_short_is_refused_at_its_last_line(tmp_path):
    # lxml closes a document cut short without a word when it validates with a schema and resolves no entity: the
    # validator asks for the root's own end.
    data = written(mixed())
    cut = data[: data.index(b"</CdtTrfTxInf>") + len(b"</CdtTrfTxInf>")]
    (finding,) = validate_file(save(tmp_path, cut, "cut.xml"), "pain.001.001.09")
    assert finding.line == cut.count(b"\n") + 1 and "cut short" in finding.message
    assert validate_file(save(tmp_path, data, "whole.xml"), "pain.001.001.09") == []


# --- a real counterparty ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["pain.001.001.09", "pain.001.001.03"])
def test_mock_bank_reads_our_file_with_no_finding(version):
    data = written(mixed(), version=version)
    answer = mockbank_validate.inspect(data, today=datetime.date(2026, 12, 2))
    payment_file, findings = answer[0], answer[-1]
    assert findings == []
    assert payment_file.nb_of_txs == 5
    assert [p.end_to_end_id for p in payment_file.payments] == [t.end_to_end_id for t in mixed()]


# --- constant memory ----------------------------------------------------------------------------------------------


def _resident_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def many(count: int):
    """`count` transfers, cheaply made: a third each bank, wallet and IBAN."""
    shapes = [
        ("bank", "1234567890123", "010261234", ""),
        ("mobile_wallet", "+8801712345678", "", ""),
        ("iban", "DE89370400440532013000", "", "COBADEFFXXX"),
    ]
    for number in range(count):
        kind, account, routing, bic = shapes[number % 3]
        amount = Decimal(f"{3000 + number % 500}.{number % 100:02d}")
        yield Transfer(f"PB12-{number:08d}", amount, "BDT", "Rahima Begum", kind, account, routing, bic, "ENT-2026")


def test_writing_and_validating_200000_payments_takes_constant_memory(tmp_path):
    count = 200_000
    total = sum((Decimal(f"{3000 + n % 500}.{n % 100:02d}") for n in range(count)), Decimal(0))
    path = tmp_path / "big.xml"
    # Reset this process's peak resident size (Linux: clear_refs 5), so the peak read after is this test's alone.
    Path("/proc/self/clear_refs").write_text("5")
    before = _resident_kib("VmRSS")
    summary = write_pain001(path, header([], nb_of_txs=count, ctrl_sum=total), many(count))
    assert validate_file(path, "pain.001.001.09") == []
    growth_mib = (_resident_kib("VmHWM") - before) / 1024
    # A tree of this file would take about 700 MiB; streamed, both passes stay within a few MiB.
    assert growth_mib < 40, f"peak resident memory grew by {growth_mib:.0f} MiB"
    assert summary.nb_of_txs == count and summary.size_bytes == path.stat().st_size > 50 * 2**20


def test_a_status_report_from_mock_bank_validates_and_a_broken_one_names_its_line(tmp_path):
    rejected = {
        "end_to_end_id": "PB12-00000001",
        "reason": "AC04",
        "reason_text": "closed account",
        "instruction_id": "",
        "pmt_inf_id": "PB-12-F1",
        "msg_id": "PB-12-F1-A1",
        "message": "pain.001.001.09",
    }
    data = mockbank_messages.write_pain002_rejections([rejected], "MOCK-1", CREATED)
    path = save(tmp_path, data, "status.xml")
    assert message_name(path) == "pain.002.001.10"
    assert validate_file(path, "pain.002.001.10") == []
    broken = data.replace(b"<TxSts>RJCT</TxSts>", b"\n<TxSts></TxSts>")
    (finding,) = validate_file(save(tmp_path, broken, "broken.xml"), "pain.002.001.10")
    assert finding.line == 3 and "TxSts" in finding.message


# --- mobile money ------------------------------------------------------------------------------------------------


def payouts() -> list[MobilePayout]:
    return [
        MobilePayout("PB12-00000001", "+8801712345678", Decimal("5000.00"), "BDT", "Nasima Akter", "ENT-1"),
        MobilePayout("PB12-00000002", "+8801812345678", Decimal("2500.5"), "BDT", '=HYPERLINK("x")', "-3"),
        MobilePayout("PB12-00000003", "+8801912345678", Decimal("1"), "BDT", 'রহিমা, "বেগম"'),
    ]


def test_the_mobile_money_csv_has_one_exact_row_per_payment_and_no_formula():
    out = io.BytesIO()
    summary = write_mobile_csv(out, payouts(), currency="BDT", nb_of_txs=3, ctrl_sum=Decimal("7501.50"))
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    assert rows[0] == ["reference", "msisdn", "amount", "currency", "name", "remittance"]
    assert rows[1] == ["PB12-00000001", "+8801712345678", "5000.00", "BDT", "Nasima Akter", "ENT-1"]
    assert rows[2][2:] == ["2500.50", "BDT", '\'=HYPERLINK("x")', "'-3"]
    assert rows[3][4:] == ['রহিমা, "বেগম"', ""]
    assert out.getvalue().count(b"\r\n") == 4
    assert (summary.nb_of_txs, summary.ctrl_sum) == (3, Decimal("7501.50"))
    assert summary.sha256 == hashlib.sha256(out.getvalue()).hexdigest()


def test_the_mobile_money_json_states_its_totals_first_and_amounts_as_strings(tmp_path):
    path = tmp_path / "payout.json"
    write_mobile_json(
        path, payouts(), reference="PB-12-F1-A1", currency="BDT", nb_of_txs=3, ctrl_sum=Decimal("7501.50")
    )
    document = json.loads(path.read_text())
    assert {k: document[k] for k in ("reference", "currency", "nb_of_txs", "ctrl_sum")} == {
        "reference": "PB-12-F1-A1",
        "currency": "BDT",
        "nb_of_txs": 3,
        "ctrl_sum": "7501.50",
    }
    assert document["payments"][1] == {
        "reference": "PB12-00000002",
        "msisdn": "+8801812345678",
        "amount": "2500.50",
        "currency": "BDT",
        "name": '=HYPERLINK("x")',
        "remittance": "-3",
    }
    assert sum(Decimal(p["amount"]) for p in document["payments"]) == Decimal(document["ctrl_sum"])


def test_mobile_money_files_refuse_a_bad_number_and_totals_that_disagree(tmp_path):
    bad = [*payouts(), MobilePayout("PB12-00000004", "01712345678", Decimal("1.00"), "BDT", "X")]
    with pytest.raises(PaymentFileError, match=r"payment 'PB12-00000004': msisdn: '01712345678' is not .*E\.164"):
        write_mobile_csv(tmp_path / "a.csv", bad, currency="BDT", nb_of_txs=4, ctrl_sum=Decimal("7502.50"))
    with pytest.raises(TotalsMismatch):
        write_mobile_json(
            tmp_path / "b.json", payouts(), reference="R", currency="BDT", nb_of_txs=3, ctrl_sum=Decimal("7501.49")
        )
    assert list(tmp_path.iterdir()) == []


# --- cash agents ---------------------------------------------------------------------------------------------------


def recipients(count: int) -> list[CashRecipient]:
    return [
        CashRecipient(
            f"PB12-{n:08d}",
            f"HH-{n:06d}",
            "<script>alert(1)</script>" if n == 3 else f"Person {n}",
            Decimal(f"{1000 + n}.50"),
            "BDT",
        )
        for n in range(1, count + 1)
    ]


def test_the_cash_agent_list_prints_pages_with_running_totals_and_a_signature_column():
    rows = recipients(5)
    total = sum(r.amount for r in rows)
    out = io.BytesIO()
    summary = write_cash_list_html(
        out,
        rows,
        title="Flood response, cycle 1",
        agent="Agent Karim, Sylhet",
        reference="PB-12-F3-A1",
        currency="BDT",
        nb_of_txs=5,
        ctrl_sum=total,
        created_at=CREATED,
        rows_per_page=2,
    )
    page = out.getvalue().decode()
    assert page.count('<section class="page">') == 3
    assert "Page 1 of 3" in page and "Page 3 of 3" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<td class="signature"></td>') == 5
    assert 'Page 1 total (2 recipients)</td><td class="amount">2004.00' in page
    assert "Total to this page: 4012.00" in page  # pages 1 and 2: 1001.50 + 1002.50 + 1003.50 + 1004.50
    assert "Page 3 total (1 recipient)</td>" in page
    assert "List total: 5 recipients, 5017.50 BDT" in page
    assert "HH-000004" in page and "PB12-00000005" in page
    assert "@page" in page and "break-after: page" in page
    assert summary.nb_of_txs == 5 and summary.ctrl_sum == Decimal("5017.50")


def test_the_cash_agent_csv_and_a_list_that_disagrees_with_its_totals(tmp_path):
    out = io.BytesIO()
    write_cash_list_csv(out, recipients(3), currency="BDT", nb_of_txs=3, ctrl_sum=Decimal("3007.50"))
    rows = list(csv.reader(io.StringIO(out.getvalue().decode(), newline="")))
    assert rows[0] == ["number", "registrant_id", "name", "amount", "currency", "reference"]
    assert rows[1] == ["1", "HH-000001", "Person 1", "1001.50", "BDT", "PB12-00000001"]
    with pytest.raises(TotalsMismatch):
        write_cash_list_html(
            tmp_path / "list.html",
            recipients(3),
            title="T",
            agent="A",
            reference="R",
            currency="BDT",
            nb_of_txs=4,
            ctrl_sum=Decimal("3007.50"),
            created_at=CREATED,
        )
    assert list(tmp_path.iterdir()) == []
