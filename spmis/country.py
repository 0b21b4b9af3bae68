"""The one country configuration (settings.SPMIS_COUNTRY): which country the installation serves, where its maps
start, how phone numbers without a country code are read, its currency, the names of its administrative levels,
its languages and the level that charts and aggregates break down by. Every page and service reads it from here.

`validate` runs when the settings load, so a wrong value stops the start-up with a message naming the variable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat: the national map start view
    center: tuple[float, float]  # lat, lon: where a map with nothing to fit (e.g. the report) is centred
    zoom: int
    phone_region: str  # phonenumbers region for numbers written without a country code
    currency: str  # ISO 4217
    level_names: tuple[str, ...]  # index = area level (0 = country)
    languages: tuple[str, ...]
    chart_level: int  # the level that dashboards, map shading and reports break down by
    attribution: str = ""  # credit for the boundaries, shown on maps

    def level_name(self, level: int) -> str:
        return self.level_names[level] if 0 <= level < len(self.level_names) else f"Level {level}"

    def leaflet_bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]], as Leaflet's fitBounds takes it."""
        west, south, east, north = self.bbox
        return [[south, west], [north, east]]

    def as_page_config(self) -> dict:
        """What the browser gets (through json_script): everything but server-only details."""
        data = asdict(self)
        return {
            "code": data["code"],
            "name": data["name"],
            "bbox": list(data["bbox"]),
            "bounds": self.leaflet_bounds(),
            "center": list(data["center"]),
            "zoom": data["zoom"],
            "currency": data["currency"],
            "levelNames": list(data["level_names"]),
            "chartLevel": data["chart_level"],
            "chartLevelName": self.level_name(self.chart_level),
            "attribution": data["attribution"],
        }


def validate(raw: dict, *, known_languages: list[str]) -> dict:
    """Check the settings block and fill the derived defaults (centre from the box); raise ImproperlyConfigured
    naming the environment variable behind a wrong value."""
    import phonenumbers

    def fail(variable: str, message: str) -> None:
        raise ImproperlyConfigured(f"{variable}: {message}")

    code = (raw.get("code") or "").upper()
    if len(code) != 2 or not code.isalpha():
        fail("SPMIS_COUNTRY_CODE", f"{raw.get('code')!r} is not an ISO 3166-1 two-letter code.")
    bbox = raw.get("bbox") or []
    if len(bbox) != 4:
        fail("SPMIS_COUNTRY_BBOX", "expected four numbers: min_lon,min_lat,max_lon,max_lat.")
    west, south, east, north = bbox
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        fail("SPMIS_COUNTRY_BBOX", "expected min_lon < max_lon within ±180 and min_lat < max_lat within ±90.")
    center = raw.get("center") or [(south + north) / 2, (west + east) / 2]
    if len(center) != 2 or not (-90 <= center[0] <= 90 and -180 <= center[1] <= 180):
        fail("SPMIS_COUNTRY_CENTER", "expected two numbers: lat,lon.")
    zoom = raw.get("zoom", 7)
    if not 0 <= zoom <= 20:
        fail("SPMIS_COUNTRY_ZOOM", "expected a zoom level from 0 to 20.")
    region = (raw.get("phone_region") or "").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        fail("SPMIS_PHONE_REGION", f"{raw.get('phone_region')!r} is not a region phone numbers can be read for.")
    currency = (raw.get("currency") or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        fail("SPMIS_CURRENCY", f"{raw.get('currency')!r} is not an ISO 4217 three-letter code.")
    level_names = [name for name in raw.get("level_names") or [] if name]
    if not level_names:
        fail("SPMIS_ADMIN_LEVEL_NAMES", "name at least the country level.")
    languages = list(raw.get("languages") or [])
    unknown = [lang for lang in languages if lang not in known_languages]
    if not languages or unknown:
        fail("SPMIS_LANGUAGES", f"choose from {', '.join(known_languages)} (unknown: {', '.join(unknown) or '-'}).")
    chart_level = raw.get("chart_level", 0)
    if not 0 <= chart_level < len(level_names):
        fail("SPMIS_CHART_LEVEL", f"expected a level from 0 to {len(level_names) - 1} (one per level name).")
    return {
        "code": code,
        "name": raw.get("name") or code,
        "bbox": tuple(float(value) for value in bbox),
        "center": tuple(float(value) for value in center),
        "zoom": int(zoom),
        "phone_region": region,
        "currency": currency,
        "level_names": tuple(level_names),
        "languages": tuple(languages),
        "chart_level": int(chart_level),
        "attribution": raw.get("attribution") or "",
    }


def country() -> Country:
    """The configured country (read on every call, so a test's `settings` override takes effect)."""
    from django.conf import settings

    return Country(**settings.SPMIS_COUNTRY)
