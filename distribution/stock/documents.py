"""Printable goods received notes and waybills (PDF with fpdf2): the document's number, places, lines in the units
written and in base units, shortage and damage on a GRN, and signature boxes for whoever hands over and receives."""

from __future__ import annotations

from fpdf import FPDF

from distribution.stock.models import StockDocument

TITLES = {
    StockDocument.DocumentKind.RECEIPT: "Goods received note",
    StockDocument.DocumentKind.TRANSFER: "Waybill (transfer between warehouses)",
    StockDocument.DocumentKind.DISPATCH: "Waybill (dispatch to a distribution point)",
    StockDocument.DocumentKind.LOSS: "Loss or damage report",
    StockDocument.DocumentKind.ADJUSTMENT: "Stock count adjustment",
    StockDocument.DocumentKind.RETURN: "Return note",
    StockDocument.DocumentKind.REVERSAL: "Reversal",
}


def _latin(text) -> str:
    # The built-in PDF fonts are Latin-1; anything else prints as "?" rather than failing the document.
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def _place(place) -> str:
    return f"{place.name} ({place.code})" if place is not None else "-"


def document_pdf(document: StockDocument) -> bytes:
    """The document as a one-or-more page A4 PDF."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, _latin(TITLES.get(document.kind, document.kind)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Number", document.number),
        ("Date", document.occurred_on.isoformat()),
        ("From", _place(document.source_warehouse) if document.source_warehouse else document.supplier or "-"),
        ("To", _place(document.destination_warehouse or document.point)),
    ]
    if document.reference:
        facts.append(("Reference", document.reference))
    if document.vehicle or document.driver:
        facts.append(("Vehicle / driver", f"{document.vehicle or '-'} / {document.driver or '-'}"))
    if document.reason:
        facts.append(("Reason", document.reason))
    if document.reverses_id:
        facts.append(("Reverses", document.reverses.number))
    facts.append(("Recorded by", document.created_by.get_username() if document.created_by else "-"))
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(38, 6, _latin(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    receipt = document.kind == StockDocument.DocumentKind.RECEIPT
    headers = ["#", "Item", "Lot", "Expiry", "Quantity", "Unit"]
    widths = [8, 52, 24, 22, 22, 16]
    if receipt:
        headers += ["Short", "Damaged", "Received (base)"]
        widths = [8, 44, 20, 20, 18, 14, 16, 18, 32]
    else:
        headers += ["Base quantity"]
        widths += [46]
    pdf.set_font("Helvetica", "B", 9)
    for header, width in zip(headers, widths, strict=True):
        pdf.cell(width, 7, header, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in document.lines.select_related("item", "lot").order_by("line"):
        factor = line.base_quantity / line.quantity if line.quantity else 1
        cells = [
            str(line.line),
            f"{line.item.name} ({line.item.code})",
            line.lot.code if line.lot else "-",
            line.lot.expires_on.isoformat() if line.lot and line.lot.expires_on else "-",
            f"{line.quantity.normalize():f}",
            line.unit,
        ]
        if receipt:
            good = line.base_quantity - (line.shortage + line.damaged) * factor
            cells += [
                f"{line.shortage.normalize():f}",
                f"{line.damaged.normalize():f}",
                f"{good.normalize():f} {line.item.base_unit}",
            ]
        else:
            cells += [f"{line.base_quantity.normalize():f} {line.item.base_unit}"]
        for cell, width in zip(cells, widths, strict=True):
            pdf.cell(width, 6, _latin(cell)[: int(width / 1.6)], border=1)
        pdf.ln()
    pdf.ln(12)
    pdf.set_font("Helvetica", "", 10)
    left, right = (
        ("Delivered by", "Received by")
        if document.kind != StockDocument.DocumentKind.LOSS
        else ("Reported by", "Approved by")
    )
    for label in (left, right):
        pdf.cell(90, 6, f"{label}: name, signature, date", border="T")
        pdf.cell(5, 6, "")
    pdf.ln()
    return bytes(pdf.output())
