"""QR rendering of a credential's text with segno (alphanumeric mode fits Base45 exactly)."""

from __future__ import annotations

import io

import segno


def qr_png(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    """A PNG of the QR code for `text`, error correction M (a card survives scuffs without growing too dense)."""
    code = segno.make_qr(text, error="m", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = 4) -> str:
    code = segno.make_qr(text, error="m", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=scale, xmldecl=False)
    return out.getvalue().decode()
