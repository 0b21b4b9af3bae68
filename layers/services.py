"""Writes for layers. Imports are jobs (LayerImport rows); features go in set-based: chunks are COPYed into a
temporary staging table, then one INSERT … SELECT repairs, filters and stores them inside a transaction, so a bad
file leaves no layer, no feature and no file behind."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from layers import cap as cap_parser
from layers import ems, rasters, readers
from layers.fetch import fetch_url
from layers.models import CapAlert, LayerImport, LayerKind, LayerSource, RasterLayer, VectorLayer
from spmis.core.bulk import copy_text, staging_table
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit
from spmis.core.uploads import upload_size_check

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]
FAMILY_COLLECTION_TYPE = {"point": 1, "line": 2, "polygon": 3}
DEFAULT_VECTOR_STYLE = {
    LayerKind.CONTEXT: {"color": "#3366cc", "opacity": 0.6, "outline_color": "#1f3d7a", "width": 1},
    LayerKind.HAZARD: {"color": "#d7301f", "opacity": 0.5, "outline_color": "#7f0000", "width": 1},
}
VECTOR_STYLE_KEYS = {"color", "opacity", "outline_color", "width", "radius", "label_field", "categories"}


def _noop_progress(percent: int, message: str) -> None:
    return None


@dataclass
class LayerImportOptions:
    """What the uploader tells us about the file. Unused keys for a kind are ignored."""

    name: str = ""
    description: str = ""
    source: str = ""
    licence: str = ""
    observed_at: str | None = None
    kind: str = LayerKind.CONTEXT
    layer: str | None = None
    assume_crs: int | None = None
    x_field: str | None = None
    y_field: str | None = None
    wkt_field: str | None = None
    unit: str = ""
    nodata: float | None = None
    style: dict = field(default_factory=dict)
    url: str | None = None

    def validate(self) -> None:
        errors = {}
        if self.kind not in LayerKind.values:
            errors["kind"] = f"Choose one of {', '.join(LayerKind.values)}."
        if self.observed_at and self.observed_time() is None:
            errors["observed_at"] = "Expected an ISO 8601 date-time, e.g. 2024-08-21T06:00:00Z."
        if self.assume_crs is not None:
            from pyproj import CRS
            from pyproj.exceptions import CRSError

            try:
                CRS.from_epsg(self.assume_crs)
            except CRSError:
                errors["assume_crs"] = f"EPSG:{self.assume_crs} is not a known coordinate reference system."
        if errors:
            raise ValidationError(errors)

    def observed_time(self) -> datetime | None:
        if not self.observed_at:
            return None
        value = parse_datetime(str(self.observed_at))
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.UTC)
        return value


@dataclass
class VectorImportResult:
    features: int = 0
    read: int = 0
    repaired: int = 0
    dropped_empty: int = 0
    geometry_type: str = ""
    source_crs: str = ""


# --------------------------------------------------------------------------------------------------- vectors


def validate_vector_style(style: dict) -> dict:
    if not isinstance(style, dict):
        raise ValidationError({"style": "Expected an object."})
    unknown = set(style) - VECTOR_STYLE_KEYS
    if unknown:
        raise ValidationError({"style": f"Unknown keys: {', '.join(sorted(unknown))}."})
    for key in ("color", "outline_color"):
        if key in style:
            rasters._hex_to_rgba(style[key])
    opacity = style.get("opacity", 1)
    if not isinstance(opacity, int | float) or not 0 <= opacity <= 1:
        raise ValidationError({"style": "opacity must be between 0 and 1."})
    return style


def vector_layer_import_file(
    *,
    path: str | Path,
    options: LayerImportOptions,
    user=None,
    progress: Progress = _noop_progress,
    source_type: str = LayerSource.UPLOAD,
    member: str | None = None,
    extra: dict | None = None,
) -> tuple[VectorLayer, VectorImportResult]:
    """Read a vector file (any format GDAL reads that we accept), reproject to EPSG:4326, repair, store."""
    options.validate()
    style = validate_vector_style(options.style or dict(DEFAULT_VECTOR_STYLE[options.kind]))
    progress(2, "Inspecting the file")
    source = readers.open_source(
        path,
        layer=options.layer,
        x_field=options.x_field,
        y_field=options.y_field,
        wkt_field=options.wkt_field,
        member=member,
    )
    crs = readers.resolve_crs(source, options.assume_crs)
    result = VectorImportResult(source_crs=_crs_label(crs))
    family = None
    with connection.cursor() as cursor:
        staging_table(cursor, "layer_stage", [("fid", "bigint"), ("geom", "geometry"), ("props", "jsonb")])
        try:
            for chunk in readers.iter_chunks(source, crs=crs):
                if chunk.text:
                    copy_text(cursor, "layer_stage", ("fid", "geom", "props"), chunk.text.encode())
                result.read += chunk.rows + chunk.dropped_empty
                result.dropped_empty += chunk.dropped_empty
                family = chunk.family or family
                percent = 5 + int(65 * result.read / max(source.feature_count, 1))
                progress(min(percent, 70), f"Read {result.read} of {source.feature_count} features")
            if family is None:
                raise ValidationError({"file": "Every feature has an empty geometry; nothing to import."})
            progress(72, "Repairing geometries")
            bbox = _repair_staged(cursor, family, result)
            progress(80, "Writing features")
            with transaction.atomic():
                layer = VectorLayer.objects.create(
                    name=options.name or Path(str(member or path)).stem,
                    description=options.description,
                    kind=options.kind,
                    source_type=source_type,
                    source=options.source,
                    licence=options.licence,
                    observed_at=options.observed_time(),
                    source_crs=result.source_crs,
                    original_name=Path(str(path)).name,
                    source_layer=source.layer,
                    geometry_type=family,
                    fields=source.fields,
                    style=style,
                    uploaded_by=user,
                    **(extra or {}),
                )
                _insert_staged(cursor, layer, bbox, result)
        finally:
            cursor.execute("DROP TABLE IF EXISTS layer_stage")
    result.geometry_type = family
    progress(100, "Done")
    return layer, result


def _crs_label(crs: str) -> str:
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg()
    return f"EPSG:{code}" if code else parsed.name


def _repair_staged(cursor, family: str, result: VectorImportResult) -> list[float] | None:
    """Repair invalid geometries and drop those left empty, in the staging table (still outside the transaction
    that writes the layer, so progress stays visible); returns the extent of what remains."""
    cursor.execute(
        "UPDATE layer_stage SET geom = ST_CollectionExtract(ST_MakeValid(geom), %s) WHERE NOT ST_IsValid(geom)",
        [FAMILY_COLLECTION_TYPE[family]],
    )
    result.repaired = cursor.rowcount
    cursor.execute("DELETE FROM layer_stage WHERE ST_IsEmpty(geom)")
    result.dropped_empty += cursor.rowcount
    cursor.execute(
        "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] "
        "FROM (SELECT ST_Extent(geom) AS e FROM layer_stage) x"
    )
    bbox = cursor.fetchone()[0]
    if bbox is None or bbox[0] is None:
        raise ValidationError({"file": "No feature has a usable geometry after repair; nothing to import."})
    return [float(v) for v in bbox]


def _insert_staged(cursor, layer: VectorLayer, bbox: list[float], result: VectorImportResult) -> None:
    cursor.execute(
        "INSERT INTO layers_vectorfeature (layer_id, fid, geom, properties) "
        "SELECT %s, fid, geom, props FROM layer_stage",
        [layer.pk],
    )
    result.features = cursor.rowcount
    VectorLayer.objects.filter(pk=layer.pk).update(feature_count=result.features, bbox=bbox)
    layer.feature_count = result.features
    layer.bbox = bbox


def vector_layer_update(*, layer: VectorLayer, data: dict) -> VectorLayer:
    """Change a layer's metadata or style (features are replaced only by a new upload)."""
    allowed = {"name", "description", "source", "licence", "observed_at", "kind", "style", "status"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "style" in data:
        validate_vector_style(data["style"])
    if "kind" in data and data["kind"] not in LayerKind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(LayerKind.values)}."})
    with transaction.atomic(durable=True):
        for key, value in data.items():
            setattr(layer, key, value)
        layer.save()
    return layer


def vector_layer_delete(*, layer: VectorLayer) -> None:
    with transaction.atomic(durable=True):
        # One set-based DELETE; the ORM's cascade would first load every feature id.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM layers_vectorfeature WHERE layer_id = %s", [layer.pk])
        layer.delete()


# --------------------------------------------------------------------------------------------------- rasters


def raster_layer_import_file(
    *, path: str | Path, options: LayerImportOptions, user=None, progress: Progress = _noop_progress
) -> RasterLayer:
    """Write the GeoTIFF as a COG under MEDIA_ROOT/rasters/, describe it block-wise, record the layer."""
    options.validate()
    if options.style:
        rasters.validate_style(options.style)
    relative = f"rasters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.tif"
    destination = Path(settings.MEDIA_ROOT) / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        progress(5, "Writing the Cloud-Optimized GeoTIFF")
        rasters.write_cog(path, destination, assume_crs=options.assume_crs, nodata=options.nodata)
        progress(50, "Computing statistics and histogram")
        description = rasters.describe(
            destination, progress=lambda fraction: progress(50 + int(45 * fraction), "Computing statistics")
        )
        with transaction.atomic():
            layer = RasterLayer.objects.create(
                name=options.name or Path(str(path)).stem,
                description=options.description,
                kind=options.kind,
                source=options.source,
                licence=options.licence,
                observed_at=options.observed_time(),
                original_name=Path(str(path)).name,
                file=relative,
                unit=options.unit,
                style=options.style or rasters.default_style(description.statistics),
                uploaded_by=user,
                **asdict(description),
            )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    progress(100, "Done")
    return layer


def raster_layer_update(*, layer: RasterLayer, data: dict) -> RasterLayer:
    allowed = {"name", "description", "source", "licence", "observed_at", "kind", "style", "status", "unit"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "style" in data:
        rasters.validate_style(data["style"])
    with transaction.atomic(durable=True):
        for key, value in data.items():
            setattr(layer, key, value)
        layer.save()
    return layer


def raster_layer_delete(*, layer: RasterLayer) -> None:
    path = layer.local_path()
    with transaction.atomic(durable=True):
        layer.delete()
        transaction.on_commit(lambda: path.unlink(missing_ok=True))


# --------------------------------------------------------------------------------------------------- CAP


def cap_fetch(url: str) -> bytes:
    """Download a CAP message (http/https, 5 MB cap, 30 s timeout) from a configured feed host or a public address
    (layers.fetch: no loopback, private, link-local or multicast targets, redirects checked again)."""
    return fetch_url(url, max_bytes=cap_parser.MAX_CAP_BYTES, timeout=30)


def cap_alert_import(*, data: bytes, user=None, progress: Progress = _noop_progress) -> CapAlert:
    """Import one CAP 1.2 message. Alert: a new open alert with a hazard layer of its areas. Update: a new
    version of the alert it references (which is closed). Cancel: closes the referenced alert. The same
    identifier is never imported twice."""
    message = cap_parser.parse_cap(data)
    progress(30, f"{message.msg_type} {message.identifier}")
    if CapAlert.objects.filter(identifier=message.identifier).exists():
        raise ValidationError({"identifier": f"The alert {message.identifier!r} has already been imported."})
    with transaction.atomic():
        previous = None
        if message.references:
            identifiers = [identifier for _, identifier, _ in message.references]
            previous = CapAlert.objects.select_for_update().filter(identifier__in=identifiers).order_by("-sent").first()
            if previous is None and message.msg_type in ("Update", "Cancel"):
                raise ValidationError(
                    {"references": f"None of the referenced alerts ({', '.join(identifiers)}) has been imported."}
                )
        layer = None
        if message.msg_type in ("Alert", "Update"):
            layer = _cap_layer(message, user)
        alert = CapAlert.objects.create(
            identifier=message.identifier,
            sender=message.sender,
            sent=message.sent,
            cap_status=message.status,
            msg_type=message.msg_type,
            scope=message.scope,
            references=message.references_raw,
            event=message.event or (previous.event if previous else ""),
            headline=message.headline,
            description=message.description,
            severity=message.severity or (previous.severity if previous else ""),
            urgency=message.urgency or (previous.urgency if previous else ""),
            certainty=message.certainty or (previous.certainty if previous else ""),
            onset=message.onset,
            expires=message.expires,
            status=CapAlert.Status.CLOSED if message.msg_type == "Cancel" else CapAlert.Status.OPEN,
            closed_reason="cancel message" if message.msg_type == "Cancel" else "",
            version=(previous.version + 1) if previous else 1,
            previous=previous,
            layer=layer,
            xml=data.decode("utf-8", errors="replace"),
        )
        if previous is not None and previous.status == CapAlert.Status.OPEN:
            reason = "cancelled" if message.msg_type == "Cancel" else f"superseded by {message.identifier}"
            CapAlert.objects.filter(pk=previous.pk).update(status=CapAlert.Status.CLOSED, closed_reason=reason[:64])
            if previous.layer_id:
                VectorLayer.objects.filter(pk=previous.layer_id).update(status=VectorLayer.Status.ARCHIVED)
    progress(100, "Done")
    return alert


def _cap_geocode_areas(message: cap_parser.CapMessage) -> dict[int, list[tuple[str, int]]]:
    """For each CAP area described only by geocodes (no polygon or circle): the admin areas it names, as
    [(geocode, area id)]. A geocode matches an area whose code equals its value (case-insensitive). An area may give
    its geocodes in several schemes (valueNames); the first scheme whose values all match is used, so an
    unknown scheme beside a known one does no harm. An area none of whose schemes matches is refused, naming the
    values, rather than silently dropped: the hazard would be under-drawn."""
    from django.db.models.functions import Upper

    from geo.models import Area

    wanted = {
        position: area
        for position, area in enumerate(message.areas)
        if area.geocodes and not (area.polygons or area.circles)
    }
    values = {value.upper() for area in wanted.values() for _, value in area.geocodes}
    matches = Area.objects.annotate(upper_code=Upper("code")).filter(upper_code__in=values)
    known = dict(matches.values_list("upper_code", "pk")) if values else {}
    resolved: dict[int, list[tuple[str, int]]] = {}
    for position, area in wanted.items():
        schemes: dict[str, list[str]] = {}
        for name, value in area.geocodes:
            schemes.setdefault(name, []).append(value)
        match = next((s for s in schemes.values() if all(v.upper() in known for v in s)), None)
        if match is None:
            unknown = sorted({v for _, v in area.geocodes if v.upper() not in known})
            raise ValidationError(
                {
                    "geocode": f"<area> {area.description!r}: no area has the code "
                    f"{', '.join(unknown)}; load those boundaries (with these codes) or send polygons."
                }
            )
        resolved[position] = [(value, known[value.upper()]) for value in match]
    return resolved


def _cap_layer(message: cap_parser.CapMessage, user) -> VectorLayer:
    # One row per feature; each shape fills its own columns (the rest stay NULL) and the SQL below picks by which.
    rows: list[tuple] = []  # (wkt, lon, lat, radius, area id, properties)
    geocoded = _cap_geocode_areas(message)
    base = {
        "event": message.event,
        "severity": message.severity,
        "urgency": message.urgency,
        "certainty": message.certainty,
        "identifier": message.identifier,
    }
    for position, area in enumerate(message.areas):
        described = {**base, "area": area.description}
        for ring in area.polygons:
            wkt = "POLYGON((" + ", ".join(f"{lon} {lat}" for lon, lat in ring) + "))"
            rows.append((wkt, None, None, None, None, {**described, "shape": "polygon"}))
        for lon, lat, radius in area.circles:
            rows.append((None, lon, lat, radius, None, {**described, "shape": "circle", "radius_km": radius}))
        for geocode, area_id in geocoded.get(position, []):
            rows.append((None, None, None, None, area_id, {**described, "shape": "geocode", "geocode": geocode}))
    wkts, lons, lats, radii, area_ids, props = (list(column) for column in zip(*rows, strict=True))
    props = [json.dumps(p) for p in props]
    fids = list(range(1, len(rows) + 1))
    layer = VectorLayer.objects.create(
        name=f"CAP {message.event or 'alert'}: {message.headline or message.identifier}"[:200],
        description=message.description,
        kind=LayerKind.HAZARD,
        source_type=LayerSource.CAP,
        source=message.sender,
        observed_at=message.onset or message.sent,
        source_crs="EPSG:4326",
        geometry_type=VectorLayer.GeometryType.POLYGON,
        fields=dict.fromkeys(
            ("event", "severity", "urgency", "certainty", "identifier", "area", "shape", "geocode"), "string"
        )
        | {"radius_km": "number"},
        style=dict(DEFAULT_VECTOR_STYLE[LayerKind.HAZARD]),
        uploaded_by=user,
        metadata={"cap_identifier": message.identifier, "msg_type": message.msg_type},
    )
    with connection.cursor() as cursor:
        # Circles are buffered on the spheroid (geography), so the radius is true kilometres; geocodes take the
        # boundary of the area with that code.
        cursor.execute(
            """
            WITH inserted AS (
                INSERT INTO layers_vectorfeature (layer_id, fid, geom, properties)
                SELECT %s, fid,
                       CASE WHEN area_id IS NOT NULL THEN (SELECT a.geom FROM geo_area a WHERE a.id = area_id)
                            WHEN radius IS NULL THEN ST_CollectionExtract(ST_MakeValid(ST_GeomFromText(wkt, 4326)), 3)
                            ELSE ST_Buffer(ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, radius * 1000)::geometry
                       END,
                       props
                FROM unnest(%s::int[], %s::text[], %s::float8[], %s::float8[], %s::float8[], %s::int8[], %s::jsonb[])
                     AS u(fid, wkt, lon, lat, radius, area_id, props)
                RETURNING geom
            )
            SELECT count(*), ARRAY[ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)),
                                   ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom))] FROM inserted
            """,
            [layer.pk, fids, wkts, lons, lats, radii, area_ids, props],
        )
        count, bbox = cursor.fetchone()
    VectorLayer.objects.filter(pk=layer.pk).update(feature_count=count, bbox=bbox)
    layer.feature_count, layer.bbox = count, bbox
    return layer


# --------------------------------------------------------------------------------------------------- EMS


def ems_package_import(
    *, path: str | Path, options: LayerImportOptions, user=None, progress: Progress = _noop_progress
) -> tuple[VectorLayer, VectorImportResult]:
    """Import the observed-event layer of a Copernicus EMS rapid-mapping package as a hazard layer."""
    package = ems.inspect_package(path)
    duplicate = VectorLayer.objects.filter(
        source_type=LayerSource.EMS, activation_code=package.activation_code, product_version=package.product_version
    ).first()
    if duplicate is not None:
        raise ValidationError(
            {"file": f"{package.activation_code} {package.product_version} is already imported (layer {duplicate.pk})."}
        )
    options = LayerImportOptions(
        **{
            **asdict(options),
            "kind": LayerKind.HAZARD,
            "name": options.name or f"{package.activation_code} {package.product_version} observed event".strip(),
            "source": options.source or "Copernicus Emergency Management Service",
            "licence": options.licence or "Copernicus EMS: free and open, attribution required",
            "layer": None,
        }
    )
    return vector_layer_import_file(
        path=path,
        options=options,
        user=user,
        progress=progress,
        source_type=LayerSource.EMS,
        member=package.member,
        extra={
            "activation_code": package.activation_code,
            "product_version": package.product_version,
            "metadata": {"ems_layers": package.layers, "ems_member": package.member, "aoi": package.aoi},
        },
    )


# --------------------------------------------------------------------------------------------------- jobs


def layer_import_start(
    *, kind: str, file=None, original_name: str = "", options: LayerImportOptions, user
) -> LayerImport:
    """Record an import job (the upload is already streamed to disk by Django) and queue it after commit."""
    options.validate()
    if kind not in LayerImport.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(LayerImport.Kind.values)}."})
    if file is None and not (kind == LayerImport.Kind.CAP and options.url):
        raise ValidationError({"file": "Upload a file" + (" or give a url." if kind == "cap" else ".")})
    if file is not None:
        limit_key = "LAYER_RASTER_MAX_BYTES" if kind == LayerImport.Kind.RASTER else "LAYER_VECTOR_MAX_BYTES"
        upload_size_check(file.size, settings.SPMIS[limit_key])
    with transaction.atomic(durable=True):
        job = LayerImport.objects.create(
            kind=kind,
            file=file or "",
            original_name=original_name or (Path(file.name).name if file else options.url or ""),
            parameters=asdict(options),
            created_by=user,
        )
        enqueue_on_commit("layers.layer_import", job.pk)
    return job


def layer_import_run(*, import_id: int) -> LayerImport:
    """Run a queued import; the job row records progress and the result or the error. The uploaded file is
    removed afterwards either way (a raster's COG is a separate file)."""

    def work(job: LayerImport, progress) -> JobOutcome:
        updates = _layer_import_work(job, progress)
        return JobOutcome(result=updates.pop("result"), fields=updates)

    # Not one transaction: each kind commits its layer itself, and a CAP alert is fetched over the network first.
    return run_job(LayerImport, import_id, work, error_field="file", atomic=False, cleanup=_discard_upload)


def _layer_import_work(job: LayerImport, progress) -> dict:
    options = LayerImportOptions(**job.parameters)
    user = job.created_by
    if job.kind == LayerImport.Kind.VECTOR:
        layer, result = vector_layer_import_file(path=job.file.path, options=options, user=user, progress=progress)
        updates = {"vector_layer": layer, "result": {"layer": layer.pk, **asdict(result)}}
    elif job.kind == LayerImport.Kind.RASTER:
        raster = raster_layer_import_file(path=job.file.path, options=options, user=user, progress=progress)
        updates = {
            "raster_layer": raster,
            "result": {
                "layer": raster.pk,
                "width": raster.width,
                "height": raster.height,
                "bands": raster.band_count,
            },
        }
    elif job.kind == LayerImport.Kind.EMS:
        layer, result = ems_package_import(path=job.file.path, options=options, user=user, progress=progress)
        updates = {
            "vector_layer": layer,
            "result": {
                "layer": layer.pk,
                "activation_code": layer.activation_code,
                "product_version": layer.product_version,
                **asdict(result),
            },
        }
    else:
        data = Path(job.file.path).read_bytes() if job.file else cap_fetch(options.url or "")
        alert = cap_alert_import(data=data, user=user, progress=progress)
        updates = {
            "vector_layer": alert.layer,
            "result": {
                "alert": alert.pk,
                "identifier": alert.identifier,
                "msg_type": alert.msg_type,
                "version": alert.version,
                "layer": alert.layer_id,
            },
        }
    return updates


def _discard_upload(job: LayerImport) -> dict:
    """The uploaded file is removed after the import whatever its outcome (a raster's COG is a separate file)."""
    if job.file:
        Path(job.file.path).unlink(missing_ok=True)
    return {"file": ""}
