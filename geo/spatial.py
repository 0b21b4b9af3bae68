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
    try:
        listed = pyogrio.list_layers(gdal_path)
    except Exception as error:  # pyogrio raises several GDAL-derived types for unreadable data
        raise ValidationError({field: f"The file could not be read as a vector data set ({error})."}) from None
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
        raise ValidationError({field: f"The layer could not be read ({error})."}) from None
    if frame.crs is None:
        if assume_crs is None:
            raise ValidationError(
                {"crs": "The file does not say which coordinate reference system it uses; state it (e.g. 4326)."}
            )
        frame = frame.set_crs(epsg=assume_crs)
    if frame.crs.to_epsg() != WGS84:
        frame = frame.to_crs(epsg=WGS84)
    return frame


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
        raise ValidationError({field: f"Malformed GeoJSON geometry ({error})."}) from None
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
