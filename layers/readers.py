"""Reading uploaded files: what format, which layer, which CRS, and the features in chunks ready for COPY.

Pure file handling (GDAL through pyogrio and rasterio); no database here, so the checks are cheap to test.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from geo.spatial import (
    WGS84,
    check_geometries,
    drop_elevation,
    open_vector,
    plain_gdal_message,
    read_error_message,
)
from spmis.core.uploads import zip_members

CHUNK_FEATURES = 100_000
CSV_X_NAMES = ("lon", "longitude", "lng", "long", "x")
CSV_Y_NAMES = ("lat", "latitude", "y")
CSV_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")
SHAPEFILE_REQUIRED = (".shp", ".shx", ".dbf")
ZIP_DATASET_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".csv")

# shapely type ids -> geometry family
FAMILY_BY_TYPE_ID = {0: "point", 4: "point", 1: "line", 2: "line", 5: "line", 3: "polygon", 6: "polygon"}
FAMILY_COLLECTION_TYPE = {"point": 1, "line": 2, "polygon": 3}


@dataclass
class VectorSource:
    """An uploaded vector file resolved to a GDAL path, layer and open options, with what GDAL says about it."""

    gdal_path: str
    layer: str
    layers: list[str]
    driver: str
    open_options: dict[str, str] = field(default_factory=dict)
    feature_count: int = 0
    crs: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    kind_label: str = "file"


@dataclass
class Chunk:
    """A slice of the layer: COPY text lines (fid, EWKB hex, JSON properties) and what was dropped."""

    text: str
    rows: int
    dropped_empty: int
    family: str | None


def _field_type(dtype: str) -> str:
    dtype = str(dtype)
    if dtype.startswith(("int", "uint")):
        return "integer"
    if dtype.startswith("float"):
        return "number"
    if dtype == "bool":
        return "boolean"
    if dtype.startswith("datetime"):
        return "datetime"
    if dtype == "date":
        return "date"
    return "string"


def _check_zip_members(path: Path) -> str | None:
    """Clear messages for incomplete shapefiles (the geo helper does not name .shp/.prj); returns the KML member
    to read inside a KMZ."""
    members = zip_members(path)
    lowered = {name.lower() for name in members}
    stems = {name.rsplit(".", 1)[0] for name in lowered if name.endswith((".shp", ".shx", ".dbf", ".prj"))}
    for stem in sorted(stems):
        missing = [ext for ext in SHAPEFILE_REQUIRED if stem + ext not in lowered]
        if missing:
            raise ValidationError(
                {"file": f"The shapefile {Path(stem).name} is incomplete: {', '.join(missing)} missing from the zip."}
            )
    kml = [name for name in members if name.lower().endswith(".kml")]
    if path.suffix.lower() == ".kmz":
        if not kml:
            raise ValidationError({"file": "The KMZ archive holds no .kml document."})
        return kml[0]
    # A zipped folder: GDAL only looks at the archive's root, so point it inside.
    datasets = [name for name in members if name.lower().endswith(ZIP_DATASET_SUFFIXES)]
    folders = {str(Path(name).parent) for name in datasets}
    if datasets and folders != {"."}:
        if len(datasets) == 1:
            return datasets[0]
        if len(folders) == 1 and all(name.lower().endswith(".shp") for name in datasets):
            return folders.pop()
    return None


def open_source(
    path: str | Path,
    *,
    layer: str | None = None,
    x_field: str | None = None,
    y_field: str | None = None,
    wkt_field: str | None = None,
    member: str | None = None,
) -> VectorSource:
    """Resolve and inspect an uploaded vector file, or raise ValidationError with a message a person can act on."""
    import pyogrio

    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists() or path.stat().st_size == 0:
        raise ValidationError({"file": "The file is empty."})
    parts_beside = all(path.with_suffix(part).exists() for part in SHAPEFILE_REQUIRED)
    if suffix in (".shp", ".shx", ".dbf", ".prj") and not parts_beside:
        # One part of a shapefile alone (an upload): GDAL would answer with its own words about an index file.
        raise ValidationError(
            {"file": "A shapefile is several files (.shp, .shx, .dbf and .prj): upload them together in one .zip."}
        )
    open_options: dict[str, str] = {}
    kind_label = "file"
    if suffix in (".zip", ".kmz") or zipfile.is_zipfile(path):
        inner = _check_zip_members(path)
        if inner is not None or member is not None:
            # One document or folder inside the archive: a KMZ's KML, a zipped folder, a package's chosen layer.
            gdal_path = f"/vsizip/{path}/{member or inner}"
            kind_label = "KML" if (member or inner).lower().endswith(".kml") else "file"
            vector = _list(gdal_path, layer)
        else:
            vector = open_vector(path, layer=layer)
            gdal_path = vector.gdal_path
    elif suffix == ".csv":
        kind_label = "CSV"
        open_options = _csv_options(path, x_field=x_field, y_field=y_field, wkt_field=wkt_field)
        gdal_path = str(path)
        vector = open_vector(path, layer=layer)
    else:
        if suffix == ".kml":
            kind_label = "KML"
        vector = open_vector(path, layer=layer)
        gdal_path = vector.gdal_path
    try:
        info = pyogrio.read_info(gdal_path, layer=vector.layer, force_feature_count=True, **open_options)
    except Exception as error:  # GDAL-derived errors of several types
        raise ValidationError({"file": f"The layer could not be read ({plain_gdal_message(error, path)})."}) from None
    fields = {str(name): _field_type(dtype) for name, dtype in zip(info["fields"], info["dtypes"], strict=True)}
    if info["geometry_type"] is None:
        if kind_label == "CSV":
            raise ValidationError({"file": _csv_columns_message(list(fields))})
        raise ValidationError({"file": "The layer has no geometry column."})
    count = int(info["features"] or 0)
    if count == 0:
        if kind_label == "KML":
            raise ValidationError({"file": "The KML file has no placemarks."})
        raise ValidationError({"file": "The layer has no features."})
    return VectorSource(
        gdal_path=gdal_path,
        layer=vector.layer,
        layers=vector.layers,
        driver=str(info.get("driver") or ""),
        open_options=open_options,
        feature_count=count,
        crs=info["crs"],
        fields=fields,
        kind_label=kind_label,
    )


def _list(gdal_path: str, layer: str | None):
    import pyogrio

    from geo.spatial import VectorFile

    try:
        names = [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
    except Exception as error:
        raise ValidationError(
            {"file": f"The file could not be read as a vector data set ({plain_gdal_message(error)})."}
        ) from None
    if not names:
        raise ValidationError({"file": "The KML file has no placemarks."})
    if layer is None:
        if len(names) > 1:
            raise ValidationError({"layer": f"The file has several layers; choose one of: {', '.join(names)}."})
        layer = names[0]
    elif layer not in names:
        raise ValidationError({"layer": f"No layer {layer!r} in the file; it has: {', '.join(names)}."})
    return VectorFile(gdal_path=gdal_path, layer=layer, layers=names)


def _csv_header(path: Path) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    # The separators GDAL's CSV driver recognises by itself.
    delimiter = max((",", ";", "\t"), key=first.count)
    return [column.strip() for column in next(csv.reader([first], delimiter=delimiter), [])]


def _csv_columns_message(columns: list[str]) -> str:
    return (
        "The CSV has no coordinate columns: expected lon/lat (or longitude/latitude, x/y) or a WKT column "
        f"({', '.join(CSV_WKT_NAMES)}); it has: {', '.join(columns) or 'no columns'}. "
        "Name the columns with x_field/y_field or wkt_field."
    )


def _csv_options(path: Path, *, x_field: str | None, y_field: str | None, wkt_field: str | None) -> dict[str, str]:
    header = _csv_header(path)
    lowered = {column.lower(): column for column in header}
    for given, label in ((x_field, "x_field"), (y_field, "y_field"), (wkt_field, "wkt_field")):
        if given and given not in header:
            raise ValidationError({label: f"No column {given!r}; the CSV has: {', '.join(header)}."})
    if bool(x_field) != bool(y_field):
        raise ValidationError({"y_field" if x_field else "x_field": "Give both x_field and y_field."})
    if not (x_field or wkt_field):
        x_field = next((lowered[n] for n in CSV_X_NAMES if n in lowered), None)
        y_field = next((lowered[n] for n in CSV_Y_NAMES if n in lowered), None)
        if not (x_field and y_field):
            x_field = y_field = None
            wkt_field = next((lowered[n] for n in CSV_WKT_NAMES if n in lowered), None)
    if not (x_field or wkt_field):
        raise ValidationError({"file": _csv_columns_message(header)})
    options = {"AUTODETECT_TYPE": "YES", "KEEP_GEOM_COLUMNS": "NO", "EMPTY_STRING_AS_NULL": "YES"}
    if x_field:
        options |= {"X_POSSIBLE_NAMES": x_field, "Y_POSSIBLE_NAMES": y_field}
    else:
        options |= {"GEOM_POSSIBLE_NAMES": wkt_field}
    return options


def resolve_crs(source: VectorSource, assume_crs: int | None) -> str:
    """The CRS to read the layer in: its own, or the one the uploader states. CSV coordinates default to WGS 84."""
    if source.crs:
        return source.crs
    if assume_crs:
        return f"EPSG:{assume_crs}"
    if source.kind_label == "CSV":
        return f"EPSG:{WGS84}"
    raise ValidationError(
        {
            "assume_crs": "The file does not say which coordinate reference system it uses "
            "(a shapefile without .prj?); state it, e.g. 4326 or 32646."
        }
    )


def iter_chunks(source: VectorSource, *, crs: str, chunk_size: int = CHUNK_FEATURES) -> Iterator[Chunk]:
    """Read the layer chunk by chunk, reproject to EPSG:4326 and render COPY text. Mixed geometry families are
    refused; null and empty geometries are dropped and counted. The next chunk is read in a worker thread while
    the caller sends the current one to the database (GDAL, shapely and the socket all release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    chunks = _read_chunks(source, crs=crs, chunk_size=chunk_size)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _read_chunks(source: VectorSource, *, crs: str, chunk_size: int) -> Iterator[Chunk]:
    import numpy as np
    import pyogrio
    import shapely

    offset = 0
    family: str | None = None
    while offset < source.feature_count:
        try:
            frame = pyogrio.read_dataframe(
                source.gdal_path,
                layer=source.layer,
                skip_features=offset,
                max_features=chunk_size,
                **source.open_options,
            )
        except Exception as error:
            message = read_error_message(
                error,
                source.gdal_path,
                layer=source.layer,
                skip_features=offset,
                max_features=chunk_size,
                **source.open_options,
            )
            raise ValidationError({"file": message}) from None
        if len(frame) == 0:
            break
        if frame.crs is None:
            frame = frame.set_crs(crs)
        if frame.crs.to_epsg() != WGS84:
            frame = frame.to_crs(epsg=WGS84)
        geoms = drop_elevation(frame.geometry.values)
        fids = np.arange(offset + 1, offset + len(frame) + 1)
        check_geometries(geoms, first_feature=offset + 1)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        dropped = int((~keep).sum())
        type_ids = shapely.get_type_id(geoms[keep])
        families = {FAMILY_BY_TYPE_ID.get(int(t), "collection") for t in np.unique(type_ids)}
        if family:
            families.add(family)
        if "collection" in families:
            row = int(fids[keep][type_ids == 7][0])
            raise ValidationError({"file": f"row {row}: geometry collections are not supported; split them first."})
        if len(families) > 1:
            raise ValidationError(
                {
                    "file": f"The layer mixes {' and '.join(sorted(families))} geometries; upload one layer per "
                    "geometry type."
                }
            )
        family = family or next(iter(families), None)
        text = _copy_text(frame.drop(columns=frame.geometry.name)[keep], fids[keep], geoms[keep])
        offset += len(frame)
        yield Chunk(text=text, rows=int(keep.sum()), dropped_empty=dropped, family=family)


def _copy_text(attributes, fids, geoms) -> str:
    import shapely

    if len(fids) == 0:
        return ""
    wkb = shapely.to_wkb(shapely.set_srid(geoms, WGS84), hex=True, include_srid=True)
    if len(attributes.columns):
        attributes = attributes.reset_index(drop=True)
        attributes.columns = [str(c) for c in attributes.columns]
        lines = attributes.to_json(
            orient="records", lines=True, date_format="iso", force_ascii=False, default_handler=str
        ).rstrip("\n")
        # COPY text format treats backslash as an escape: JSON's own escapes must survive it.
        props = lines.replace("\\", "\\\\").split("\n")
    else:
        props = ["{}"] * len(fids)
    return "".join(f"{fid}\t{g}\t{p}\n" for fid, g, p in zip(fids.tolist(), wkb.tolist(), props, strict=True))
