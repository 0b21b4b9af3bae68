"""Spatial primitives shared by every app: reading vector files safely, and validating geometries from clients.

Nothing here knows about households, hazards or programs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.core.exceptions import ValidationError

from spmis.core.uploads import zip_members

WGS84 = 4326
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".fgb", ".csv"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")


@dataclass
class VectorFile:
    """A vector file opened for reading: the GDAL path to give pyogrio, and the layer to read."""

    gdal_path: str
    layer: str | None
    layers: list[str]


def open_vector(path: str | Path, *, layer: str | None = None, field: str = "file") -> VectorFile:
    """Resolve a file (GeoJSON, GeoPackage, zipped Shapefile, …) to something pyogrio can read, or raise a
    ValidationError naming `field` with a message a person can act on."""
    import pyogrio

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise ValidationError({field: "The file is empty."})
    gdal_path = str(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        gdal_path = _zip_gdal_path(path, field)
    elif path.suffix.lower() == ".shp":
        missing = [ext for ext in SHAPEFILE_PARTS[1:] if not path.with_suffix(ext).exists()]
        if missing:
            raise ValidationError(
                {
                    field: f"A shapefile comes in several files and {', '.join(missing)} did not come with the .shp: "
                    "upload the .shp, .shx, .dbf and .prj together in one .zip."
                }
            )
    try:
        listed = pyogrio.list_layers(gdal_path)
    except Exception as error:  # pyogrio raises several GDAL-derived types for unreadable data
        raise ValidationError(
            {field: f"The file could not be read as a vector data set ({plain_gdal_message(error, path)})."}
        ) from None
    names = [str(row[0]) for row in listed]
    if not names:
        raise ValidationError({field: "The file contains no layers."})
    if layer is None:
        if len(names) > 1:
            raise ValidationError({"layer": f"The file has several layers; choose one of: {', '.join(names)}."})
        layer = names[0]
    elif layer not in names:
        raise ValidationError({"layer": f"No layer {layer!r} in the file; it has: {', '.join(names)}."})
    return VectorFile(gdal_path=gdal_path, layer=layer, layers=names)


def _zip_gdal_path(path: Path, field: str) -> str:
    members = zip_members(path, field=field)
    shapefiles = [name for name in members if name.lower().endswith(".shp")]
    for shp in shapefiles:
        stem = shp[:-4]
        missing = [ext for ext in (".dbf", ".shx") if not any(m.lower() == (stem + ext).lower() for m in members)]
        if missing:
            raise ValidationError({field: f"The shapefile {shp} is incomplete: {', '.join(missing)} missing."})
    if not shapefiles and not any(Path(m).suffix.lower() in VECTOR_SUFFIXES for m in members):
        raise ValidationError({field: "The zip archive holds no shapefile or other vector file."})
    return f"/vsizip/{path}"


def read_frame(vector: VectorFile, *, assume_crs: int | None = None, field: str = "file"):
    """Read a layer into a GeoDataFrame in EPSG:4326. A layer with no CRS is refused unless the caller states
    one (`assume_crs`); every other CRS is reprojected."""
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(vector.gdal_path, layer=vector.layer)
    except Exception as error:
        raise ValidationError({field: read_error_message(error, vector.gdal_path, layer=vector.layer)}) from None
    if frame.crs is None:
        if assume_crs is None:
            raise ValidationError(
                {"crs": "The file does not say which coordinate reference system it uses; state it (e.g. 4326)."}
            )
        frame = frame.set_crs(epsg=assume_crs)
    if frame.crs.to_epsg() != WGS84:
        frame = frame.to_crs(epsg=WGS84)
    check_geometries(frame.geometry.values, first_feature=1, field=field)
    return frame.set_geometry(drop_elevation(frame.geometry, crs=frame.crs))


def drop_elevation(geometries, *, crs=None):
    """The geometries in 2D. Files often carry a third coordinate (KML always writes an altitude); every geometry
    column here is 2D and nothing uses elevation, so it is dropped rather than refused. (Clients of the API are
    asked to send 2D instead: see geometry_from_client.)"""
    import geopandas
    import numpy as np
    import shapely

    values = np.asarray(geometries, dtype=object)
    if shapely.has_z(values).any():
        values = shapely.force_2d(values)
    return geopandas.GeoSeries(values, crs=crs, index=getattr(geometries, "index", None)) if crs else values


# GEOS's words for geometries it cannot build, and what they mean to the person who made the file.
GEOMETRY_PROBLEMS = (
    ("closed linestring", "a polygon ring is not closed: its last point must repeat the first"),
    ("number of points in linearring", "a polygon ring needs at least four points, the last repeating the first"),
    ("must have at least", "a line or ring has too few points"),
    ("geos c function", "the coordinates do not form a geometry of that type"),
)


def _geojson_problem(value: dict, error: Exception) -> str:
    """Why GeoJSON did not make a geometry: Django's GEOS wrapper only says that a C function failed, so ask
    shapely, whose GEOS message names the problem."""
    import json

    import shapely

    try:
        shapely.from_geojson(json.dumps(value))
    except Exception as detailed:
        return plain_gdal_message(detailed)
    return plain_gdal_message(error)


def plain_gdal_message(error: Exception, path: str | Path | None = None) -> str:
    """GDAL's or GEOS's message without server file paths or library jargon, for an upload's error."""
    import re

    text = str(error)
    for marker in ("IllegalArgumentException: ", "ParseException: ", "GEOSException: "):
        text = text.replace(marker, "")
    lowered = text.lower()
    for words, meaning in GEOMETRY_PROBLEMS:
        if words in lowered:
            return meaning
    if path is not None:
        text = text.replace(str(path), Path(str(path)).name)
    # Any other absolute path (the upload folder, a /vsizip/ prefix) is the server's business, not the user's.
    return re.sub(r"(/vsi[a-z]+)?(/[^\s/()'\"]*)+/([^\s/()'\"]+)", r"\3", text).strip().rstrip(".")


def read_error_message(error: Exception, gdal_path: str, *, layer: str | None, **read_options) -> str:
    """Explain why a layer could not be read, naming the first feature whose geometry is at fault when there is
    one (GEOS refuses a whole layer for a single broken ring)."""
    import pyogrio
    import shapely

    reason = plain_gdal_message(error, gdal_path)
    if not any(reason == meaning for _words, meaning in GEOMETRY_PROBLEMS):
        return f"The layer could not be read ({reason})."
    try:
        _meta, _fids, wkbs, _fields = pyogrio.raw.read(gdal_path, layer=layer, read_geometry=True, **read_options)
    except Exception:
        return f"A geometry could not be read: {reason}."
    skip = int(read_options.get("skip_features", 0) or 0)
    for index, wkb in enumerate(wkbs):
        if wkb is None:
            continue
        try:
            shapely.from_wkb(wkb)
        except Exception as feature_error:
            return f"feature {skip + index + 1}: {plain_gdal_message(feature_error)}."
    return f"A geometry could not be read: {reason}."


def check_geometries(geometries, *, first_feature: int, field: str = "file") -> None:
    """Refuse, naming the first features at fault, what no repair can make sense of: coordinates that are not a
    place on Earth once in EPSG:4326 (latitude 95; latitude and longitude swapped for most of the world; a wrong
    or missing projection) and polygon rings of fewer than four points. `geometries` is an array of shapely
    geometries (None allowed), numbered from `first_feature`."""
    import numpy as np
    import shapely

    geometries = np.asarray(geometries, dtype=object)
    if len(geometries) == 0:
        return
    parts, part_of = shapely.get_parts(geometries, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    short = np.flatnonzero(shapely.get_num_coordinates(rings) < 4)
    if len(short):
        features = sorted({int(part_of[ring_of[index]]) + first_feature for index in short})
        listed = ", ".join(f"feature {number}" for number in features[:5])
        more = f" and {len(features) - 5} more" if len(features) > 5 else ""
        raise ValidationError(
            {field: f"{listed}{more}: a polygon ring needs at least four points, the last repeating the first."}
        )
    _check_coordinate_range(geometries, first_feature=first_feature, field=field)


def _check_coordinate_range(geometries, *, first_feature: int, field: str) -> None:
    import numpy as np
    import shapely

    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geometries)
        present = ~np.isnan(bounds).all(axis=1)
        bad = present & ~(
            np.isfinite(bounds).all(axis=1)
            & (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
        )
    if not bad.any():
        return
    numbers = np.arange(first_feature, first_feature + len(geometries))
    wrong = np.flatnonzero(bad)
    listed = []
    for index in wrong[:5]:
        min_x, min_y, max_x, max_y = bounds[index]
        listed.append(
            f"feature {int(numbers[index])} reaches longitude {min_x:g}…{max_x:g}, latitude {min_y:g}…{max_y:g}"
        )
    more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
    raise ValidationError(
        {
            field: "Coordinates outside longitude −180…180 / latitude −90…90: "
            + "; ".join(listed)
            + more
            + ". Are latitude and longitude swapped, or is the coordinate reference system wrong?"
        }
    )


def geometry_from_client(value, *, field: str = "geometry", allowed: tuple[str, ...] | None = None) -> GEOSGeometry:
    """Parse GeoJSON (dict or text) from a client into a valid EPSG:4326 geometry, or raise ValidationError
    naming `field`. A `crs` member other than EPSG:4326/CRS84 is refused rather than guessed."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValidationError({field: f"Not valid JSON: {error.msg}."}) from None
    if not isinstance(value, dict) or "type" not in value:
        raise ValidationError({field: "Expected a GeoJSON geometry object with a 'type'."})
    crs = value.get("crs")
    if crs is not None:
        properties = crs.get("properties") if isinstance(crs, dict) else None
        if not isinstance(properties, dict):
            raise ValidationError(
                {
                    field: 'The "crs" member must be an object like '
                    '{"type": "name", "properties": {"name": "EPSG:4326"}}.'
                }
            )
        name = str(properties.get("name", ""))
        if not name.upper().endswith(("4326", "CRS84")):
            raise ValidationError({field: f"Coordinates must be in EPSG:4326 (WGS 84 lon/lat); got CRS {name!r}."})
        value = {k: v for k, v in value.items() if k != "crs"}
    try:
        geometry = GEOSGeometry(json.dumps(value), srid=WGS84)
    except (GEOSException, GDALException, ValueError, TypeError) as error:
        raise ValidationError({field: f"Malformed GeoJSON geometry ({_geojson_problem(value, error)})."}) from None
    if geometry.hasz:
        # Every geometry column is 2D; silently dropping a third value could hide a swapped or projected
        # coordinate, so the client is asked to send plain positions.
        raise ValidationError(
            {field: "Give longitude and latitude only: these coordinates have a third (elevation) value."}
        )
    if allowed and geometry.geom_type not in allowed:
        raise ValidationError({field: f"Expected {' or '.join(allowed)}, got {geometry.geom_type}."})
    if geometry.empty:
        raise ValidationError({field: "The geometry is empty."})
    min_x, min_y, max_x, max_y = geometry.extent
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise ValidationError(
            {
                field: "Coordinates fall outside longitude −180…180 / latitude −90…90: "
                "are they projected, or are latitude and longitude swapped?"
            }
        )
    if not geometry.valid:
        raise ValidationError({field: f"Invalid geometry: {geometry.valid_reason}."})
    return geometry


def lowest_area_sql(points_table: str, *, id_column: str = "id", point_column: str = "location") -> str:
    """SQL selecting (id, area_id) of the lowest area containing each point of `points_table`, set-based.

    The subdivided area pieces drive the join so that PostGIS tests many points against the same small polygon in a
    row (its prepared-geometry cache then does the work), which is about 3x faster than probing the pieces' index once
    per point. `points_table` needs a GiST index on the point column for large inputs. Points outside every area
    are absent from the result (LEFT JOIN it).
    """
    return f"""
        SELECT DISTINCT ON (s.{id_column}) s.{id_column} AS id, p.area_id
        FROM geo_areapiece p JOIN {points_table} s ON ST_Intersects(p.geom, s.{point_column})
        ORDER BY s.{id_column}, p.level DESC, p.area_id
    """
