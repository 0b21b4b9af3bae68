"""Status files read from their bytes (programs.payments.reports.cutting, iso._camt054_fast) give exactly what lxml
reads from the whole tree: the same entries, in the same order, on their true lines, whatever the shape of an entry
(the common one read by regular expressions, any other parsed alone), the block boundaries, comments, CDATA, entities,
prefixes or encoding. No database."""

from __future__ import annotations

import io
import re

import pytest
from lxml import etree

from programs.payments.reports import StatusFileError, cutting, iso, read_status_file

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
HEAD = (
    f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{NS}\"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>MB-1"
    "</MsgId><CreDtTm>2026-12-03T09:00:12+00:00</CreDtTm></GrpHdr><Ntfctn><Id>N-1</Id><CreDtTm>"
    "2026-12-03T09:00:12+00:00</CreDtTm><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>\n"
)
TAIL = "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
CODE = "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"


def entry(
    e2e: str = "SPM0000000000001",
    amount: str = "10.00",
    *,
    side: str = "DBIT",
    status: str = "<Cd>BOOK</Cd>",
    reversal: str = "",
    refs: str = "",
    tx_amount: str | None = "10.00",
    tx_more: str = "",
    details: str | None = None,
) -> str:
    tx = (
        f"<TxDtls><Refs>{refs}<EndToEndId>{e2e}</EndToEndId></Refs>"
        + (f'<Amt Ccy="BDT">{tx_amount}</Amt>' if tx_amount is not None else "")
        + f"<CdtDbtInd>{side}</CdtDbtInd>{tx_more}</TxDtls>"
    )
    return (
        f'<Ntry><Amt Ccy="BDT">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>{reversal}<Sts>{status}</Sts><BookgDt>'
        f"<Dt>2026-12-03</Dt></BookgDt><ValDt><Dt>2026-12-03</Dt></ValDt><AcctSvcrRef>MB-{e2e}</AcctSvcrRef>{CODE}"
        + (f"<NtryDtls>{tx}</NtryDtls>" if details is None else details)
        + "</Ntry>\n"
    )


RETURN = "<RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf>"
PARTIES = "<RltdPties><Cdtr><Pty><Nm>Rahima Begum</Nm></Pty></Cdtr></RltdPties>"
SHAPES = {
    "common": entry(),
    "mock-bank": entry(refs="<MsgId>SPMIS-B1</MsgId><PmtInfId>SPMIS-B1-1</PmtInfId>", tx_more=PARTIES),
    "no amount of its own": entry(tx_amount=None),
    "indented": entry().replace("><", ">\n      <"),
    "comment inside": entry().replace("<Refs>", "<Refs><!-- <EndToEndId>X</EndToEndId> </Ntry> -->"),
    "cdata": entry(e2e="<![CDATA[SPM0000000000002]]>"),
    "entity": entry(e2e="SPM&amp;0000002"),
    "character reference": entry(e2e="SPM&#48;000002"),
    "end tag spaced": entry().replace("<Ntry>", "<Ntry >").replace("</Ntry>", "</Ntry\n>"),
    "reversed credit": entry(side="CRDT", reversal="<RvslInd>true</RvslInd>"),
    "return": entry(side="CRDT", tx_more=RETURN),
    "pending": entry(status="<Cd>PDNG</Cd>"),
    "information": entry(status="<Cd>INFO</Cd>"),
    "money arriving": entry(side="CRDT"),
    "proprietary status": entry(status="<Prtry> BOOK </Prtry>"),
    "blank reference": entry(e2e=" "),
    "two transactions": entry(
        amount="30.00",
        details=(
            '<NtryDtls><TxDtls><Refs><EndToEndId>SPM-A</EndToEndId></Refs><Amt Ccy="BDT">10.00</Amt></TxDtls>'
            '<TxDtls><Refs><EndToEndId>SPM-B</EndToEndId></Refs><Amt Ccy="BDT">20.00</Amt></TxDtls></NtryDtls>'
        ),
    ),
    "no details": entry(details=""),
}


def reference(document: bytes) -> tuple[list, int]:
    """The entries as lxml reads them from the whole tree (exact lines below 65,535), and how many it skipped."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    kind = etree.QName(root).namespace.removeprefix(iso.ISO_NS)
    spec = iso.SPECS[kind]
    tags = iso._Tags(iso.ISO_NS + kind)
    header = dict(spec.header(root, iso._q(iso.ISO_NS + kind)), _batches={})
    found = []
    for element in root.iter(f"{{{iso.ISO_NS + kind}}}{spec.entry}"):
        found += spec.entries(element, element.getparent(), tags, header, iso._sourceline)
    return [entry for entry in found if entry is not None], sum(entry is None for entry in found)


def read(document: bytes) -> tuple[list, int]:
    report = read_status_file(document)
    return list(report.entries()), report.info.skipped


FAST = {"common", "mock-bank", "no amount of its own", "indented", "reversed credit", "pending", "information"}
FAST |= {"money arriving", "proprietary status", "blank reference"}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_entry_shape_reads_as_lxml_reads_it(shape):
    document = (HEAD + entry(e2e="SPM-FIRST") + "\n  " + SHAPES[shape] + entry(e2e="SPM-LAST") + TAIL).encode()
    assert read(document) == reference(document)
    # Read by the regular expressions, or (not in the common shape, or not plain) parsed by lxml alone.
    ((data, start, end, line, plain),) = [p for p in cutting.pieces(io.BytesIO(SHAPES[shape].encode()), "Ntry") if p[3]]
    assert plain == (shape not in ("comment inside", "cdata", "end tag spaced"))  # those take the careful walk
    assert (plain and iso._camt054_fast(data, start, end, line, None, None) is not None) == (shape in FAST)


@pytest.mark.parametrize("block", [7, 19, 64, 333, 1 << 20])
def test_the_same_whatever_the_blocks_the_file_is_read_in(block, monkeypatch):
    """Entries, comments and CDATA cut by a block's end are read whole once the next block has come."""
    document = (HEAD + "<!-- a comment with <Ntry> in it -->\n" + "".join(SHAPES.values()) + TAIL).encode()
    expected = reference(document)
    monkeypatch.setattr(cutting, "BLOCK", block)
    assert read(document) == expected


def test_a_prefixed_or_latin_1_document_is_read_by_lxml_whole():
    """Entries the cut does not take (a namespace prefix; not UTF-8) are met by the skeleton parser itself."""
    body = "".join(SHAPES.values())
    prefixed = re.sub(r"<(/?)(?=[A-Za-z])", r"<\1c:", HEAD + body + TAIL).replace("xmlns=", "xmlns:c=")
    latin = (HEAD.replace("utf-8", "ISO-8859-1") + body.replace("Rahima", "Ráhima") + TAIL).encode("latin-1")
    for document in (prefixed.encode(), latin):
        found = read(document)
        assert found == reference(document) and len(found[0]) > 10


def test_lines_past_65535_are_the_true_ones_indented_or_not():
    """libxml2 counts lines in 16 bits (an indented entry past 65,535 used to be named one line late)."""
    one_line = entry()
    indented = entry().replace("><", ">\n  <")
    body = "".join((indented if n % 2 else one_line).replace("SPM0000000000001", f"SPM{n:013d}") for n in range(12_000))
    document = (HEAD + body + TAIL).encode()
    expected = [n for n, text in enumerate(document.split(b"\n"), 1) if text.startswith(b"<Ntry>")]
    assert expected[-1] > 65_535 * 2
    assert [e.line for e in read(document)[0]] == expected


def test_a_doctype_is_refused_and_a_comment_hides_no_entry():
    with pytest.raises(StatusFileError, match="DOCTYPE"):
        read_status_file((HEAD.replace("<Document", "<!DOCTYPE Document []>\n<Document") + entry() + TAIL).encode())
    pieces = list(cutting.pieces(io.BytesIO(b"<a><!-- <Ntry></Ntry> --><Ntry>x</Ntry></a>"), "Ntry"))
    assert [(data[start:end], line) for data, start, end, line, _plain in pieces if line] == [(b"<Ntry>x</Ntry>", 1)]


def test_an_entry_that_does_not_end_is_refused_before_it_fills_memory(monkeypatch):
    monkeypatch.setattr(cutting, "MAX_PIECE", 4096)
    monkeypatch.setattr(cutting, "BLOCK", 1024)
    unended = (HEAD + entry() + "<Ntry>" + "<!-- padding -->" * 1000).encode()
    with pytest.raises(cutting.TooLarge, match="does not end"):
        list(cutting.pieces(io.BytesIO(unended), "Ntry"))
