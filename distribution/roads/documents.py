"""Printable route sheets: one page per truck with its stops in order, loads, arrival times and the closures."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from distribution.roads.models import RouteRun

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class _Sheet(FPDF):
    def __init__(self):
        super().__init__(orientation="P", unit="mm", format="A4")
        if FONT.exists() and FONT_BOLD.exists():
            self.add_font("body", "", str(FONT))
            self.add_font("body", "B", str(FONT_BOLD))
            self.family, self.unicode = "body", True
        else:  # a server without DejaVu: the core font, with characters outside Latin-1 replaced
            self.family, self.unicode = "helvetica", False

    def safe(self, value: object) -> str:
        """The cell text, encodable in the chosen font."""
        text = "" if value is None else str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")


def route_sheet_pdf(run: RouteRun) -> bytes:
    """The route run's sheets as PDF bytes (a page per route, then the stops nobody could serve)."""
    pdf = _Sheet()
    pdf.set_auto_page_break(True, margin=15)
    result = run.result or {}
    network = run.network
    for route in result.get("routes", []):
        pdf.add_page()
        pdf.set_font(pdf.family, "B", 15)
        pdf.cell(0, 9, pdf.safe(f"Route sheet - vehicle {route['vehicle_code']}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.family, "", 10)
        for line in (
            f"Route run {run.pk} on {network.name} ({network.code}); depot {route['depot']}",
            f"Load {route['load_kg']:g} kg of {route['capacity_kg']:g} kg; {len(route['stops'])} stops;"
            f" {route['metres'] / 1000:.1f} km; about {route['seconds'] / 60:.0f} min driving",
            "Roads closed by hazard zones: " + (", ".join(map(str, result.get("closed_zones") or [])) or "none"),
        ):
            pdf.cell(0, 6, pdf.safe(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font(pdf.family, "B", 10)
        widths = (12, 30, 78, 30, 30)
        for width, head in zip(widths, ("#", "Point", "Name", "Load kg", "Arrival"), strict=True):
            pdf.cell(width, 7, head, border=1)
        pdf.ln()
        pdf.set_font(pdf.family, "", 10)
        for number, stop in enumerate(route["stops"], start=1):
            cells = (number, stop["code"], stop["name"][:45], f"{stop['demand_kg']:g}", _clock(stop["arrival_s"]))
            for width, value in zip(widths, cells, strict=True):
                pdf.cell(width, 7, pdf.safe(value), border=1)
            pdf.ln()
        pdf.ln(6)
        pdf.cell(0, 6, "Driver signature: ______________________   Received by: ______________________")
        pdf.ln(8)
        pdf.set_font(pdf.family, "", 8)
        pdf.cell(0, 5, pdf.safe(f"Road data: {network.attribution}"))
    unserved = result.get("unserved") or []
    if unserved or not result.get("routes"):
        pdf.add_page()
        pdf.set_font(pdf.family, "B", 13)
        pdf.cell(0, 8, "Stops not served", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.family, "", 9)
        for item in unserved:
            pdf.multi_cell(0, 5, pdf.safe(f"{item['code']}: {item['reason']}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
