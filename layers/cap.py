"""CAP 1.2 (Common Alerting Protocol) parsing: pure code, no database. XML is read with defusedxml, so entity
expansion and external entities in a hostile file are refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
MAX_CAP_BYTES = 5 * 1024 * 1024


@dataclass
class CapArea:
    description: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # rings of (lon, lat)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # (lon, lat, radius km)
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)


@dataclass
class CapMessage:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[tuple[str, str, str]]  # (sender, identifier, sent)
    references_raw: str
    event: str = ""
    headline: str = ""
    description: str = ""
    severity: str = ""
    urgency: str = ""
    certainty: str = ""
    onset: datetime | None = None
    expires: datetime | None = None
    areas: list[CapArea] = field(default_factory=list)


def _bad(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _datetime(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _bad(f"<{name}> is not a CAP date-time: {text!r}.") from None
    if value.tzinfo is None:
        raise _bad(f"<{name}> must carry a time-zone offset: {text!r}.")
    return value


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _bad(f"{what}: {text!r} is not a number.") from None


def parse_polygon(text: str) -> list[tuple[float, float]]:
    """CAP polygon: space-separated "lat,lon" pairs, first equal to last, at least four."""
    ring = []
    for pair in text.split():
        parts = pair.split(",")
        if len(parts) != 2:
            raise _bad(f"<polygon> point {pair!r} is not 'lat,lon'.")
        lat, lon = _float(parts[0], "<polygon> latitude"), _float(parts[1], "<polygon> longitude")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise _bad(f"<polygon> point {pair!r} is outside latitude −90…90 / longitude −180…180.")
        ring.append((lon, lat))
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise _bad("<polygon> needs at least four points, the first equal to the last.")
    return ring


def parse_circle(text: str) -> tuple[float, float, float]:
    """CAP circle: "lat,lon radius" with the radius in kilometres."""
    parts = text.split()
    if len(parts) != 2 or len(parts[0].split(",")) != 2:
        raise _bad(f"<circle> {text!r} is not 'lat,lon radius'.")
    lat_text, lon_text = parts[0].split(",")
    lat, lon = _float(lat_text, "<circle> latitude"), _float(lon_text, "<circle> longitude")
    radius = _float(parts[1], "<circle> radius")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or radius < 0:
        raise _bad(f"<circle> {text!r} has coordinates out of range or a negative radius.")
    return (lon, lat, radius)


def parse_references(text: str) -> list[tuple[str, str, str]]:
    refs = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3:
            raise _bad(f"<references> entry {item!r} is not 'sender,identifier,sent'.")
        refs.append((parts[0], parts[1], parts[2]))
    return refs


def parse_cap(data: bytes) -> CapMessage:
    """Parse one CAP 1.2 <alert>, or raise ValidationError naming what is wrong."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if len(data) > MAX_CAP_BYTES:
        raise _bad("The CAP message is larger than 5 MB.")
    try:
        root = fromstring(data)
    except DefusedXmlException as error:
        raise _bad(f"The XML uses forbidden constructs ({type(error).__name__}).") from None
    except ParseError as error:
        raise _bad(f"The file is not well-formed XML ({error}).") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise _bad(f"Not a CAP 1.2 alert: the root element is {root.tag!r}, expected <alert> in {CAP_NS}.")

    def text(element, name: str, *, required: bool = False) -> str:
        child = element.find(f"{{{CAP_NS}}}{name}")
        value = (child.text or "").strip() if child is not None else ""
        if required and not value:
            raise _bad(f"<{name}> is missing.")
        return value

    msg_type = text(root, "msgType", required=True)
    if msg_type not in MSG_TYPES:
        raise _bad(f"<msgType> {msg_type!r} is not one of {', '.join(MSG_TYPES)}.")
    references_raw = text(root, "references")
    message = CapMessage(
        identifier=text(root, "identifier", required=True),
        sender=text(root, "sender", required=True),
        sent=_datetime(text(root, "sent", required=True), "sent"),
        status=text(root, "status", required=True),
        msg_type=msg_type,
        scope=text(root, "scope"),
        references=parse_references(references_raw),
        references_raw=references_raw,
    )
    if msg_type in ("Update", "Cancel") and not message.references:
        raise _bad(f"A {msg_type} must name the message it replaces in <references>.")
    infos = root.findall(f"{{{CAP_NS}}}info")
    if infos:
        # The first <info> (usually the sender's main language) describes the alert; areas come from all.
        info = infos[0]
        message.event = text(info, "event")
        message.headline = text(info, "headline")[:500]
        message.description = text(info, "description")
        message.severity = text(info, "severity")
        message.urgency = text(info, "urgency")
        message.certainty = text(info, "certainty")
        message.onset = _datetime(text(info, "onset"), "onset")
        message.expires = _datetime(text(info, "expires"), "expires")
    for info in infos:
        for area in info.findall(f"{{{CAP_NS}}}area"):
            parsed = CapArea(description=text(area, "areaDesc"))
            parsed.polygons = [parse_polygon(p.text or "") for p in area.findall(f"{{{CAP_NS}}}polygon")]
            parsed.circles = [parse_circle(c.text or "") for c in area.findall(f"{{{CAP_NS}}}circle")]
            parsed.geocodes = [
                (text(geocode, "valueName"), text(geocode, "value", required=True))
                for geocode in area.findall(f"{{{CAP_NS}}}geocode")
            ]
            if parsed.polygons or parsed.circles or parsed.geocodes:
                message.areas.append(parsed)
    if msg_type in ("Alert", "Update") and not message.areas:
        raise _bad("The alert has no <area> with a <polygon>, <circle> or <geocode>.")
    return message
