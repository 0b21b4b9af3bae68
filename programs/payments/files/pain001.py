"""ISO 20022 customer credit transfer files (pain.001.001.09 and .001.001.03), written streamed in constant memory.

One file holds one payment information block (PmtInf: one debtor account, one execution date, one currency) with
its transactions. GrpHdr must state NbOfTxs and CtrlSum before the first transaction, so the caller passes them
(from a SQL count and sum of the same rows); the writer counts and sums what it really wrote and raises
TotalsMismatch at the end if the two differ, after which the file is removed (when written to a path) or must be
discarded (when written to a stream).

How a creditor account is written, by `Transfer.account_kind`:

- ``iban``: CdtrAcct/Id/IBAN; the creditor agent by its BIC when known (FinInstnId/BICFI, BIC in .03), else none.
- ``bank`` (a Bangladesh account): CdtrAcct/Id/Othr/Id with the account number and SchmeNm/Cd ``BBAN``; the
  creditor agent by its branch routing number, FinInstnId/ClrSysMmbId/MmbId, under ClrSysId/Prtry
  (`FileHeader.clearing_system`, ``BEFTN``), with its BIC as well when known.
- ``mobile_wallet``: CdtrAcct/Id/Othr/Id with the E.164 number and SchmeNm/Prtry ``MSISDN``; the wallet provider
  as creditor agent by BIC when known.

Speed: every row of one shape (kind, and which optional parts it has) reuses one lxml element whose texts are
replaced and which is serialised by `xmlfile.write`; building a fresh tree of fifteen elements per payment costs
four times as much. Each transaction is written on a line of its own, so a validation finding's line number names
the payment. Elements inside the open Document are written without a namespace of their own and so inherit its
default namespace: a namespaced element would repeat `xmlns=` on every transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, Protocol

from lxml import etree

from programs.payments.files.output import FileSummary, open_output
from programs.payments.files.text import (
    PaymentFileError,
    TotalsMismatch,
    amount_formatter,
    check_bic,
    check_iban,
    check_identifier,
    check_msisdn,
    fit_text,
    format_total,
)

VERSIONS = ("pain.001.001.09", "pain.001.001.03")
ACCOUNT_KINDS = ("iban", "bank", "mobile_wallet")
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


@dataclass(frozen=True)
class Party:
    """The debtor (the program's account) and its bank. Account: `iban`, or `other_id` (written as Othr/Id with
    SchmeNm BBAN). Bank: `bic` and/or `clearing_member_id` (its routing number); with neither, FinInstnId/Othr/Id
    ``NOTPROVIDED``, as EPC does for an IBAN-only debtor."""

    name: str
    iban: str = ""
    other_id: str = ""
    bic: str = ""
    clearing_member_id: str = ""


@dataclass(frozen=True)
class Transfer:
    """One payment. `amount` exact in `currency`, already rounded to its minor unit; `account_number` in plain
    (decrypted by the caller): an IBAN, a bank account number or an E.164 MSISDN after `account_kind`."""

    end_to_end_id: str  # unique per payment, <= 35 characters, from the database
    amount: Decimal
    currency: str
    creditor_name: str
    account_kind: str  # "iban" | "bank" | "mobile_wallet"
    account_number: str
    routing_number: str = ""  # bank: the branch's BEFTN routing number (creditor agent ClrSysMmbId/MmbId)
    bic: str = ""  # creditor agent's BIC when known
    remittance: str = ""  # RmtInf/Ustrd, e.g. the entitlement's code
    instruction_id: str = ""  # PmtId/InstrId when the FSP wants one


class TransferFields(Protocol):
    """What the writer reads of a transfer: a Transfer, or any row with its attributes (the release passes its
    database rows, programs.payments.services.files.PaymentRow, as they are)."""

    end_to_end_id: str
    amount: Decimal
    currency: str
    creditor_name: str
    account_kind: str
    account_number: str
    routing_number: str
    bic: str
    remittance: str
    instruction_id: str


@dataclass(frozen=True)
class FileHeader:
    """One file's header and payment information block. `nb_of_txs` and `ctrl_sum` are the caller's count and sum
    of the rows it will pass (the writer checks them); `msg_id` must be deterministic per batch, file and attempt."""

    msg_id: str
    created_at: datetime
    initiating_party: str
    debtor: Party
    payment_info_id: str
    execution_date: date
    nb_of_txs: int
    ctrl_sum: Decimal
    currency: str
    clearing_system: str = "BEFTN"  # ClrSysId/Prtry of creditor agents given by routing number
    charge_bearer: str = "DEBT"  # fees borne by the program, so the recipient gets the whole amount; "" for none
    charset: str = "unicode"  # "latin" for an FSP that takes the restricted Latin set only (see files.text)


class _Template:
    """A transaction element of one shape and the elements whose texts change from row to row, in order."""

    def __init__(self, version: str, kind: str, *, instr: bool, bic: bool, routing: bool, remittance: bool) -> None:
        sub = etree.SubElement
        self.leaves: list[etree._Element] = []
        self.element = element = etree.Element("CdtTrfTxInf")
        element.tail = "\n"
        pmt_id = sub(element, "PmtId")
        if instr:
            self.leaves.append(sub(pmt_id, "InstrId"))
        self.leaves.append(sub(pmt_id, "EndToEndId"))
        self.amount = sub(sub(element, "Amt"), "InstdAmt")
        self.leaves.append(self.amount)
        if bic or routing:
            institution = sub(sub(element, "CdtrAgt"), "FinInstnId")
            if bic:
                self.leaves.append(sub(institution, "BICFI" if version == "pain.001.001.09" else "BIC"))
            if routing:
                member = sub(institution, "ClrSysMmbId")
                self.clearing = sub(sub(member, "ClrSysId"), "Prtry")
                self.leaves.append(sub(member, "MmbId"))
        self.leaves.append(sub(sub(element, "Cdtr"), "Nm"))
        account_id = sub(sub(element, "CdtrAcct"), "Id")
        if kind == "iban":
            self.leaves.append(sub(account_id, "IBAN"))
        else:
            other = sub(account_id, "Othr")
            self.leaves.append(sub(other, "Id"))
            scheme = sub(other, "SchmeNm")
            if kind == "bank":
                sub(scheme, "Cd").text = "BBAN"
            else:
                sub(scheme, "Prtry").text = "MSISDN"
        if remittance:
            self.leaves.append(sub(sub(element, "RmtInf"), "Ustrd"))


class _Rows:
    """Turns Transfers into texts for their template, with every check; counts and sums what it passed."""

    def __init__(self, header: FileHeader, version: str) -> None:
        self.version = version
        self.currency = header.currency
        self.charset = header.charset
        self.clearing_system = header.clearing_system
        self.format_amount = amount_formatter(header.currency)
        self.templates: dict[tuple, _Template] = {}
        self.count = 0
        self.total = Decimal(0)

    def template(self, key: tuple) -> _Template:
        template = self.templates.get(key)
        if template is None:
            kind, instr, bic, routing, remittance = key
            template = _Template(self.version, kind, instr=instr, bic=bic, routing=routing, remittance=remittance)
            if routing:
                template.clearing.text = self.clearing_system
            template.amount.set("Ccy", self.currency)
            self.templates[key] = template
        return template

    def fill(self, transfer: TransferFields) -> etree._Element:
        try:
            return self._fill(transfer)
        except PaymentFileError as error:
            # Field names are constants on the hot path; the payment is named only when something is wrong.
            raise PaymentFileError(f"payment {transfer.end_to_end_id!r}: {error}") from None

    def _fill(self, transfer: TransferFields) -> etree._Element:
        e2e = check_identifier(transfer.end_to_end_id, field="end_to_end_id")
        if transfer.currency != self.currency:
            raise PaymentFileError(f"currency {transfer.currency} differs from the file's {self.currency}.")
        amount = self.format_amount(transfer.amount, field="amount")
        kind = transfer.account_kind
        if kind == "bank":
            account = check_identifier(transfer.account_number, field="account_number", max_length=34)
            if not transfer.routing_number and not transfer.bic:
                raise PaymentFileError("a bank account needs its routing_number (or the bank's bic).")
        elif kind == "mobile_wallet":
            account = check_msisdn(transfer.account_number, field="account_number")
        elif kind == "iban":
            account = check_iban(transfer.account_number, field="account_number")
        else:
            raise PaymentFileError(f"account_kind {kind!r} is not one of {', '.join(ACCOUNT_KINDS)}.")
        instruction_id, bic, remittance = transfer.instruction_id, transfer.bic, transfer.remittance
        routing = bool(transfer.routing_number) and kind == "bank"
        values = (
            [check_identifier(instruction_id, field="instruction_id"), e2e, amount] if instruction_id else [e2e, amount]
        )
        if bic:
            values.append(check_bic(bic, field="bic"))
        if routing:
            values.append(check_identifier(transfer.routing_number, field="routing_number"))
        values.append(fit_text(transfer.creditor_name, 140, field="creditor_name", charset=self.charset))
        values.append(account)
        if remittance:
            values.append(fit_text(remittance, 140, field="remittance", charset=self.charset))
        key = (kind, bool(instruction_id), bool(bic), routing, bool(remittance))
        template = self.templates.get(key) or self.template(key)
        for leaf, value in zip(template.leaves, values, strict=True):
            leaf.text = value
        self.count += 1
        self.total += transfer.amount
        return template.element


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, tag)
    child.text = value
    return child


def _institution(parent: etree._Element, party: Party, version: str, clearing_system: str) -> None:
    institution = etree.SubElement(parent, "FinInstnId")
    if party.bic:
        _text(institution, "BICFI" if version == "pain.001.001.09" else "BIC", check_bic(party.bic, field="debtor.bic"))
    if party.clearing_member_id:
        member = etree.SubElement(institution, "ClrSysMmbId")
        _text(etree.SubElement(member, "ClrSysId"), "Prtry", clearing_system)
        _text(member, "MmbId", check_identifier(party.clearing_member_id, field="debtor.clearing_member_id"))
    if not party.bic and not party.clearing_member_id:
        _text(etree.SubElement(institution, "Othr"), "Id", "NOTPROVIDED")


def _group_header(header: FileHeader, version: str) -> etree._Element:
    element = etree.Element("GrpHdr")
    element.tail = "\n"
    _text(element, "MsgId", check_identifier(header.msg_id, field="msg_id"))
    if header.created_at.tzinfo is None:
        raise PaymentFileError("created_at: give a time with its time zone (an aware datetime).")
    _text(element, "CreDtTm", header.created_at.replace(microsecond=0).isoformat())
    _text(element, "NbOfTxs", _count(header))
    _text(element, "CtrlSum", format_total(header.ctrl_sum, header.currency, field="ctrl_sum"))
    initiating_party = fit_text(header.initiating_party, 140, field="initiating_party", charset=header.charset)
    _text(etree.SubElement(element, "InitgPty"), "Nm", initiating_party)
    return element


def _count(header: FileHeader) -> str:
    if type(header.nb_of_txs) is not int or header.nb_of_txs < 1:
        raise PaymentFileError(f"nb_of_txs: {header.nb_of_txs!r} is not a number of payments (1 or more).")
    return str(header.nb_of_txs)


def _payment_info(header: FileHeader, version: str) -> list[etree._Element]:
    """The PmtInf children that come before the transactions, as separate elements written in order."""
    parts = []

    def part(tag: str, value: str | None = None) -> etree._Element:
        element = etree.Element(tag)
        element.tail = "\n"
        if value is not None:
            element.text = value
        parts.append(element)
        return element

    part("PmtInfId", check_identifier(header.payment_info_id, field="payment_info_id"))
    part("PmtMtd", "TRF")
    part("NbOfTxs", _count(header))
    part("CtrlSum", format_total(header.ctrl_sum, header.currency, field="ctrl_sum"))
    if version == "pain.001.001.09":
        _text(part("ReqdExctnDt"), "Dt", header.execution_date.isoformat())
    else:
        part("ReqdExctnDt", header.execution_date.isoformat())
    debtor = header.debtor
    _text(part("Dbtr"), "Nm", fit_text(debtor.name, 140, field="debtor.name", charset=header.charset))
    account = part("DbtrAcct")
    account_id = etree.SubElement(account, "Id")
    if debtor.iban:
        _text(account_id, "IBAN", check_iban(debtor.iban, field="debtor.iban"))
    elif debtor.other_id:
        other = etree.SubElement(account_id, "Othr")
        _text(other, "Id", check_identifier(debtor.other_id, field="debtor.other_id", max_length=34))
        _text(etree.SubElement(other, "SchmeNm"), "Cd", "BBAN")
    else:
        raise PaymentFileError("debtor: give the program's account, as iban or other_id.")
    _text(account, "Ccy", header.currency)
    _institution(part("DbtrAgt"), debtor, version, header.clearing_system)
    if header.charge_bearer:
        if header.charge_bearer not in ("DEBT", "CRED", "SHAR", "SLEV"):
            raise PaymentFileError(f"charge_bearer: {header.charge_bearer!r} is not DEBT, CRED, SHAR or SLEV.")
        part("ChrgBr", header.charge_bearer)
    return parts


def write_pain001(
    out: BinaryIO | str | os.PathLike,
    header: FileHeader,
    transfers: Iterable[TransferFields],
    *,
    version: str = "pain.001.001.09",
) -> FileSummary:
    """Write one pain.001 file of `transfers` to `out` (a binary stream, or a path written atomically), streamed:
    memory does not grow with the number of transfers. Raises PaymentFileError naming the payment and field for a
    row that cannot be written, TotalsMismatch when the rows disagree with header.nb_of_txs/ctrl_sum."""
    if version not in VERSIONS:
        raise PaymentFileError(f"version: {version!r} is not one of {', '.join(VERSIONS)}.")
    ns = NAMESPACE_PREFIX + version
    rows = _Rows(header, version)
    group_header = _group_header(header, version)
    payment_info = _payment_info(header, version)
    with open_output(out) as (sink, path):
        # Written by hand: lxml's declaration has single quotes, which some bank front ends refuse.
        sink.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        with (
            etree.xmlfile(sink, encoding="UTF-8", buffered=True) as xf,
            xf.element(f"{{{ns}}}Document", nsmap={None: ns}),
        ):
            xf.write("\n")
            with xf.element(f"{{{ns}}}CstmrCdtTrfInitn"):
                xf.write("\n")
                xf.write(group_header)
                with xf.element(f"{{{ns}}}PmtInf"):
                    xf.write("\n")
                    for part in payment_info:
                        xf.write(part)
                    write, fill = xf.write, rows.fill
                    for transfer in transfers:
                        write(fill(transfer))
                xf.write("\n")
            xf.write("\n")
        if rows.count != header.nb_of_txs or rows.total != header.ctrl_sum:
            raise TotalsMismatch(
                f"The file was to hold {header.nb_of_txs} payments summing to {header.ctrl_sum} {header.currency} "
                f"but {rows.count} payments summing to {rows.total} were written; the file is discarded."
            )
    return FileSummary(rows.count, rows.total, sink.hexdigest(), sink.size, path)


def split_sizes(total: int, max_per_file: int) -> list[int]:
    """How many payments go into each file when `total` payments are split into files of at most `max_per_file`:
    full files first, the remainder last (`split_sizes(25, 10) == [10, 10, 5]`). The rows of file i are those
    ranked sum(sizes[:i]) + 1 .. sum(sizes[:i + 1]) in the batch's order (by EndToEndId, say)."""
    if type(total) is not int or total < 0:
        raise ValueError(f"total: {total!r} is not a number of payments.")
    if type(max_per_file) is not int or max_per_file < 1:
        raise ValueError(f"max_per_file: {max_per_file!r} must be 1 or more.")
    full, rest = divmod(total, max_per_file)
    return [max_per_file] * full + ([rest] if rest else [])


def split_transfers(transfers: Iterable[Transfer], max_per_file: int) -> Iterator[list[Transfer]]:
    """Consecutive groups of at most `max_per_file` transfers, for callers that split in Python rather than in SQL.
    Each group is held in memory: keep `max_per_file` to what a file holds (tens of thousands)."""
    if type(max_per_file) is not int or max_per_file < 1:
        raise ValueError(f"max_per_file: {max_per_file!r} must be 1 or more.")
    group: list[Transfer] = []
    for transfer in transfers:
        group.append(transfer)
        if len(group) == max_per_file:
            yield group
            group = []
    if group:
        yield group
