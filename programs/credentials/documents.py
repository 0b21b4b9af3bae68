"""Print sheets of ID-1 cards (85.6 × 54 mm, ten to an A4 page) with fpdf2: program, name, registrant ID, a photo
placeholder, expiry, card code and the signed Claim 169 QR.

The QR is embedded as a 1-bit image built straight from segno's module matrix (4 px a module, no anti-aliasing, so
printers and scanners see sharp modules); rendering a PNG file per card and re-reading it would cost several times
more for a 10,000-card batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF
from PIL import Image

CARD_W, CARD_H = 85.6, 54.0
COLUMNS, ROWS = 2, 5
GAP = 2.0
MARGIN_X = (210 - COLUMNS * CARD_W - (COLUMNS - 1) * GAP) / 2
MARGIN_Y = (297 - ROWS * CARD_H - (ROWS - 1) * GAP) / 2
QR_MM = 33.0
QR_MASK = 4
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class CardFace:
    """What one card shows; the QR text is already signed."""

    program: str
    name: str
    registrant_id: str
    card_code: str
    expires_on: str
    qr_text: str
    reprint: bool = False


def qr_matrix(text: str) -> tuple[int, bytes]:
    """(side, one byte per module, 1 = dark) with a 2-module quiet zone. A fixed mask: choosing the best of eight
    costs ~40 ms a code in segno, most of a card's time; any mask gives a valid code, read at close range."""
    code = segno.make_qr(text, error="m", boost_error=False, mask=QR_MASK)
    side = len(code.matrix) + 4
    blank = bytes(side * 2)
    # segno's matrix_iter adds the border per module in Python; padding whole rows is ~50× cheaper.
    body = b"".join(b"\0\0" + bytes(row) + b"\0\0" for row in code.matrix)
    return side, blank + body + blank


def qr_image(text: str, *, px: int = 4, matrix: tuple[int, bytes] | None = None) -> Image.Image:
    side, modules = matrix or qr_matrix(text)
    # 1 (dark) → 0 (black), 0 → 255 (white); NEAREST keeps the modules square and sharp.
    grey = Image.frombytes("L", (side, side), modules.translate(_DARK_TO_BLACK))
    return grey.resize((side * px, side * px), Image.NEAREST).convert("1")


_DARK_TO_BLACK = bytes([255, 0] + [0] * 254)


class _Sheet(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        if FONT.exists() and FONT_BOLD.exists():
            self.add_font("card", "", str(FONT))
            self.add_font("card", "B", str(FONT_BOLD))
            self.family = "card"
        else:  # core font: Latin-1 only, other letters shown as "?"
            self.family = "helvetica"

    def text_ok(self, text: str) -> str:
        return text if self.family == "card" else text.encode("latin-1", "replace").decode("latin-1")


def _card(pdf: _Sheet, x: float, y: float, face: CardFace, matrix: tuple[int, bytes] | None) -> None:
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, CARD_W, CARD_H, round_corners=True, corner_radius=3)
    pdf.set_fill_color(22, 78, 140)
    pdf.rect(x, y, CARD_W, 8, style="F", round_corners=("TOP_LEFT", "TOP_RIGHT"), corner_radius=3)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(pdf.family, "B", 8)
    pdf.set_xy(x + 3, y + 1.5)
    pdf.cell(CARD_W - 6, 5, pdf.text_ok(face.program)[:48])
    pdf.set_text_color(0, 0, 0)
    # Photo placeholder
    pdf.set_draw_color(160, 160, 160)
    pdf.rect(x + 3, y + 11, 18, 22)
    pdf.set_font(pdf.family, "", 5)
    pdf.set_xy(x + 3, y + 20)
    pdf.cell(18, 3, "photo", align="C")
    # Text
    # Plain cells, not multi_cell: line breaking costs more than the rest of a card.
    pdf.set_font(pdf.family, "B", 8)
    name = pdf.text_ok(face.name)
    for n, line in enumerate((name[:30], name[30:60])):
        if line:
            pdf.set_xy(x + 3, y + 35 + n * 3.8)
            pdf.cell(CARD_W - QR_MM - 6, 3.6, line)
    pdf.set_font(pdf.family, "", 6.5)
    lines = [f"ID {face.registrant_id}", f"Card {face.card_code}", f"Valid until {face.expires_on}"]
    if face.reprint:
        lines.append("Reprint")
    for n, line in enumerate(lines):
        pdf.set_xy(x + 23, y + 11 + n * 3.6)
        pdf.cell(CARD_W - QR_MM - 26, 3.4, line)
    pdf.image(qr_image(face.qr_text, matrix=matrix), x + CARD_W - QR_MM - 2, y + 10, QR_MM, QR_MM)


def cards_pdf(faces: Iterable[CardFace], *, workers: int = 1) -> bytes:
    """A4 sheets, ten cards a page, in the order given. With workers > 1 the QR codes (pure-Python segno, most of
    the time) are encoded in that many processes while this one lays out the pages."""
    faces = list(faces)
    if workers > 1 and len(faces) > 100:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            matrices = list(pool.map(qr_matrix, [f.qr_text for f in faces], chunksize=64))
    else:
        matrices = [None] * len(faces)
    pdf = _Sheet()
    per_page = COLUMNS * ROWS
    count = 0
    for count, (face, matrix) in enumerate(zip(faces, matrices, strict=True), start=1):
        slot = (count - 1) % per_page
        if slot == 0:
            pdf.add_page()
        col, row = slot % COLUMNS, slot // COLUMNS
        _card(pdf, MARGIN_X + col * (CARD_W + GAP), MARGIN_Y + row * (CARD_H + GAP), face, matrix)
    if count == 0:
        pdf.add_page()
    return bytes(pdf.output())
