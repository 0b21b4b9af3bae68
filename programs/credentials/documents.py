"""Print sheets of ID-1 cards (85.6 × 54 mm, ten to an A4 page) with fpdf2: program, name, registrant ID, a photo
placeholder, expiry, card code and the signed Claim 169 QR.

The QR is drawn as vector rectangles, one per horizontal run of dark modules, straight into the page's content
stream: sharp at any printer resolution, and no image to build, compress and embed per card. The module matrices come
from `qrbatch` a few hundred cards at a time (segno's own encoder would be most of a 10,000-card batch's time), and
the faces are consumed as they come, so a caller can stream them from the database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image

from programs.credentials.qrbatch import qr_matrices

CARD_W, CARD_H = 85.6, 54.0
COLUMNS, ROWS = 2, 5
GAP = 2.0
MARGIN_X = (210 - COLUMNS * CARD_W - (COLUMNS - 1) * GAP) / 2
MARGIN_Y = (297 - ROWS * CARD_H - (ROWS - 1) * GAP) / 2
QR_MM = 33.0
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
    """(side, one byte per module, 1 = dark) with a 2-module quiet zone, mask 4 at level M (see qrbatch)."""
    return qr_matrices([text])[0]


def qr_image(text: str, *, px: int = 4, matrix: tuple[int, bytes] | None = None) -> Image.Image:
    side, modules = matrix or qr_matrix(text)
    # 1 (dark) → 0 (black), 0 → 255 (white); NEAREST keeps the modules square and sharp.
    grey = Image.frombytes("L", (side, side), modules.translate(_DARK_TO_BLACK))
    return grey.resize((side * px, side * px), Image.NEAREST).convert("1")


def qr_path(matrix: tuple[int, bytes]) -> str:
    """PDF path operators filling the dark modules, in module units with y growing downwards: one `re` per
    horizontal run (a card's code has ~1,000 runs against ~2,300 dark modules)."""
    side, modules = matrix
    grid = np.zeros((side, side + 2), dtype=np.int8)
    grid[:, 1:-1] = np.frombuffer(modules, dtype=np.uint8).reshape(side, side)
    edges = np.diff(grid, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # row-major like the starts, one end per start
    numbers = np.empty(3 * starts.size, dtype=np.int64)
    numbers[0::3], numbers[1::3], numbers[2::3] = starts, rows, ends - starts
    return ("%d %d %d 1 re " * starts.size % tuple(numbers.tolist())).rstrip()


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


@cache
def _frame(x: float, y: float) -> bytes:
    """The drawing every card at (x, y) shares (outline, title band, photo box), captured once from fpdf2 on a
    scratch page and replayed inside q … Q, so the sheet's own colour and line state is untouched."""
    scratch = FPDF(orientation="P", unit="mm", format="A4")
    scratch.add_page()
    start = len(scratch.pages[1].contents)
    scratch.set_draw_color(120, 120, 120)
    scratch.set_line_width(0.2)
    scratch.rect(x, y, CARD_W, CARD_H, round_corners=True, corner_radius=3)
    scratch.set_fill_color(22, 78, 140)
    scratch.rect(x, y, CARD_W, 8, style="F", round_corners=("TOP_LEFT", "TOP_RIGHT"), corner_radius=3)
    scratch.set_draw_color(160, 160, 160)
    scratch.rect(x + 3, y + 11, 18, 22)
    return b"q " + bytes(scratch.pages[1].contents[start:]).strip() + b" Q"


def _text(pdf: _Sheet, x: float, top: float, height: float, text: str) -> None:
    """Text where `cell(…, height, text)` at (x, top) would put it (its left padding, its vertical centring), with
    `FPDF.text`, ~5× cheaper than a cell."""
    pdf.text(x + pdf.c_margin, top + 0.5 * height + 0.3 * pdf.font_size, text)


def _card(pdf: _Sheet, x: float, y: float, face: CardFace, matrix: tuple[int, bytes]) -> None:
    pdf._out(_frame(x, y))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(pdf.family, "B", 8)
    _text(pdf, x + 3, y + 1.5, 5, pdf.text_ok(face.program)[:48])
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(pdf.family, "", 5)
    pdf.text(x + 3 + (18 - pdf.get_string_width("photo")) / 2, y + 21.5 + 0.3 * pdf.font_size, "photo")
    # Plain text lines, not multi_cell: line breaking costs more than the rest of a card.
    pdf.set_font(pdf.family, "B", 8)
    name = pdf.text_ok(face.name)
    for n, line in enumerate((name[:30], name[30:60])):
        if line:
            _text(pdf, x + 3, y + 35 + n * 3.8, 3.6, line)
    pdf.set_font(pdf.family, "", 6.5)
    lines = [f"ID {face.registrant_id}", f"Card {face.card_code}", f"Valid until {face.expires_on}"]
    if face.reprint:
        lines.append("Reprint")
    for n, line in enumerate(lines):
        _text(pdf, x + 23, y + 11 + n * 3.6, 3.4, line)
    # The code, black on white, in a coordinate system of modules placed at its top left corner (PDF y goes up).
    scale = QR_MM / matrix[0] * pdf.k
    left, top = (x + CARD_W - QR_MM - 2) * pdf.k, (pdf.h - y - 10) * pdf.k
    pdf._out(f"q 0 g {scale:.5f} 0 0 {-scale:.5f} {left:.2f} {top:.2f} cm {qr_path(matrix)} f Q")


def _chunks(faces: Iterable[CardFace], size: int) -> Iterator[list[CardFace]]:
    it = iter(faces)
    while chunk := list(islice(it, size)):
        yield chunk


def cards_pdf(faces: Iterable[CardFace], *, chunk: int = 500) -> bytes:
    """A4 sheets, ten cards a page, in the order given. `faces` may be a generator: it is read `chunk` cards at a
    time (their QR matrices built together), so only the document itself grows with the batch."""
    pdf = _Sheet()
    per_page = COLUMNS * ROWS
    count = 0
    for part in _chunks(faces, chunk):
        for face, matrix in zip(part, qr_matrices([f.qr_text for f in part]), strict=True):
            slot = count % per_page
            if slot == 0:
                pdf.add_page()
            col, row = slot % COLUMNS, slot // COLUMNS
            _card(pdf, MARGIN_X + col * (CARD_W + GAP), MARGIN_Y + row * (CARD_H + GAP), face, matrix)
            count += 1
    if count == 0:
        pdf.add_page()
    return bytes(pdf.output())
