"""Writes for incidents, hazard classes, hazard zones and exposure runs."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from geo.models import Area
from geo.selectors import geometry_in_scope, user_area_ids
from response.classify import ClassSpec, classify_values, validate_bands
from response.models import ExposureRun, HazardClass, HazardZone, Incident
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

# Incidents -----------------------------------------------------------------------------------------------------


def _areas_outside_scope(user, areas: Iterable[Area]) -> list[str]:
    """Codes of the areas that do not lie inside the user's scope (none for national users)."""
    scope = user_area_ids(user)
    ids = {area.pk for area in areas}
    if scope is None or not ids:
        return []
    inside = set(Area.objects.filter(id__in=ids, lineage__overlap=scope).values_list("id", flat=True))
    return sorted(area.code for area in areas if area.pk not in inside)


def _incident_areas_for(user, areas: Iterable[Area]) -> list[Area]:
    """The areas a new incident is linked to: those given, which must lie in the user's scope; a scoped user who
    gives none links it to their own areas, so that they (and their colleagues) can see it."""
    areas = list(areas)
    outside = _areas_outside_scope(user, areas)
    if outside:
        raise ValidationError({"area_codes": f"Outside your areas: {', '.join(outside)}."})
    scope = user_area_ids(user)
    if not areas and scope:
        areas = list(Area.objects.filter(id__in=scope))
    return areas


@transaction.atomic(durable=True)
def incident_create(
    *,
    name: str,
    hazard_type: str,
    started_on: datetime.date,
    user,
    status: str = Incident.Status.ALERT,
    description: str = "",
    ended_on: datetime.date | None = None,
    areas: Iterable[Area] = (),
    cap_identifier: str | None = None,
) -> Incident:
    if cap_identifier and Incident.objects.filter(cap_identifier=cap_identifier).exists():
        raise ValidationError({"cap_identifier": f"An incident was already created from CAP alert {cap_identifier}."})
    if ended_on and ended_on < started_on:
        raise ValidationError({"ended_on": "The end date is before the start date."})
    areas = _incident_areas_for(user, areas)
    incident = Incident.objects.create(
        name=name,
        hazard_type=hazard_type,
        status=status,
        description=description,
        started_on=started_on,
        ended_on=ended_on,
        cap_identifier=cap_identifier or None,
        created_by=user,
    )
    incident.areas.set(list(areas))
    return incident


@transaction.atomic(durable=True)
def incident_update(*, incident: Incident, user=None, areas: Iterable[Area] | None = None, **fields) -> Incident:
    """Change an incident's fields and, with `areas`, the areas it is linked to. A scoped user may link and unlink
    only areas inside their scope; links to other areas (a neighbouring district's) stay as they are."""
    allowed = {"name", "status", "description", "started_on", "ended_on"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    for key, value in fields.items():
        setattr(incident, key, value)
    if incident.ended_on and incident.ended_on < incident.started_on:
        raise ValidationError({"ended_on": "The end date is before the start date."})
    if areas is not None:
        areas = list(areas)
        current = list(incident.areas.all())
        wanted = {area.pk for area in areas}
        changed = [a for a in areas if a not in current] + [a for a in current if a.pk not in wanted]
        outside = _areas_outside_scope(user, changed)
        if outside:
            raise ValidationError(
                {"area_codes": f"Outside your areas, so you may not link or unlink them: {', '.join(outside)}."}
            )
    incident.save()
    if areas is not None:
        incident.areas.set(areas)
    return incident


# Hazard classes ------------------------------------------------------------------------------------------------


def incident_classes(incident: Incident) -> list[HazardClass]:
    """The incident's own class table when it has one, otherwise the defaults for its hazard type; by rank."""
    own = list(HazardClass.objects.filter(incident=incident).order_by("rank"))
    if own:
        return own
    return list(HazardClass.objects.filter(incident=None, hazard_type=incident.hazard_type).order_by("rank"))


def class_specs(classes: Iterable[HazardClass]) -> list[ClassSpec]:
    return [ClassSpec(c.id, c.key, c.name, c.rank, c.min_value, c.max_value) for c in classes]


def hazard_class_for(incident: Incident, key: str, *, field: str = "hazard_class") -> HazardClass:
    for hazard_class in incident_classes(incident):
        if hazard_class.key == key:
            return hazard_class
    keys = ", ".join(c.key for c in incident_classes(incident))
    raise ValidationError({field: f"No class {key!r} for this incident; choose one of: {keys}."})


@transaction.atomic(durable=True)
def incident_classes_set(*, incident: Incident, classes: list[dict]) -> list[HazardClass]:
    """Replace the incident's own class table (keys, names, ranks, thresholds, displacement rates). Zones keep the
    classes they were drawn with, so a class in use cannot be removed."""
    if not classes:
        raise ValidationError({"classes": "Give at least one class."})
    keys = [c.get("key") for c in classes]
    if len(set(keys)) != len(keys):
        raise ValidationError({"classes": "Class keys must be unique."})
    ranks = [c.get("rank") for c in classes]
    if len(set(ranks)) != len(ranks):
        raise ValidationError({"classes": "Class ranks must be unique."})
    for position, spec in enumerate(classes, start=1):
        low, high = spec.get("min_value"), spec.get("max_value")
        if low is not None and high is not None and high <= low:
            raise ValidationError({"classes": f"class {position}: max_value must be greater than min_value."})
        if not 0 <= spec.get("displacement_rate", 0) <= 1:
            raise ValidationError({"classes": f"class {position}: displacement_rate must be between 0 and 1."})
    existing = {c.key: c for c in HazardClass.objects.filter(incident=incident)}
    in_use = set(
        HazardZone.objects.filter(incident=incident, hazard_class__incident=incident).values_list(
            "hazard_class__key", flat=True
        )
    )
    removed = set(existing) - set(keys)
    if removed & in_use:
        raise ValidationError({"classes": f"Classes in use by zones cannot be removed: {', '.join(removed & in_use)}."})
    HazardClass.objects.filter(incident=incident, key__in=removed).delete()
    result = []
    for spec in classes:
        values = {
            "name": spec.get("name") or spec["key"].title(),
            "rank": spec["rank"],
            "min_value": spec.get("min_value"),
            "max_value": spec.get("max_value"),
            "displacement_rate": spec.get("displacement_rate", 0.0),
            "color": spec.get("color", "#d73027"),
            "hazard_type": incident.hazard_type,
        }
        hazard_class, _ = HazardClass.objects.update_or_create(incident=incident, key=spec["key"], defaults=values)
        result.append(hazard_class)
    return sorted(result, key=lambda c: c.rank)


# Hazard zones --------------------------------------------------------------------------------------------------


def _as_multipolygon(geometry: GEOSGeometry, *, field: str = "geometry") -> MultiPolygon:
    if geometry.geom_type == "Polygon":
        geometry = MultiPolygon(geometry, srid=4326)
    if geometry.geom_type != "MultiPolygon":
        raise ValidationError({field: f"Expected Polygon or MultiPolygon, got {geometry.geom_type}."})
    if geometry.srid is None:
        geometry.srid = 4326
    return geometry


def _sql_geometry(sql: str, params: list) -> MultiPolygon | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_MakeValid(({sql})), 3)))", params)
        raw = cursor.fetchone()[0]
    if raw is None:
        return None
    geometry = GEOSGeometry(memoryview(bytes(raw)))
    return None if geometry.empty else geometry


def _zone_in_scope(user, geometry) -> None:
    """A user bound to areas draws, edits and retires zones that touch those areas only (not a neighbour's zone on
    a shared incident)."""
    if user is not None and geometry is not None and not geometry_in_scope(user, geometry):
        raise PermissionDenied("The zone lies entirely outside your areas.")


def _zone_create(*, incident, geometry, hazard_class, source_kind, source, name, user, zone_key=None, version=1):
    _zone_in_scope(user, geometry)
    return HazardZone.objects.create(
        incident=incident,
        zone_key=zone_key or uuid.uuid4(),
        version=version,
        is_current=True,
        name=name,
        hazard_class=hazard_class,
        source_kind=source_kind,
        source=source,
        geom=geometry,
        created_by=user,
    )


@transaction.atomic(durable=True)
def hazard_zone_draw(
    *, incident: Incident, geometry: GEOSGeometry, hazard_class: str, user, name: str = ""
) -> HazardZone:
    """A zone drawn by hand: a Polygon (holes allowed) or MultiPolygon already validated by
    geo.spatial.geometry_from_client."""
    return _zone_create(
        incident=incident,
        geometry=_as_multipolygon(geometry),
        hazard_class=hazard_class_for(incident, hazard_class),
        source_kind=HazardZone.Source.DRAWN,
        source={},
        name=name,
        user=user,
    )


@transaction.atomic(durable=True)
def hazard_zone_circle(
    *, incident: Incident, lon: float, lat: float, radius_m: float, hazard_class: str, user, name: str = ""
) -> HazardZone:
    """A geodesic circle: the buffer is computed on the spheroid (geography), so 5 km is 5 km at any latitude."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({"center": "Longitude must be within −180…180 and latitude within −90…90."})
    if not 0 < radius_m <= 2_000_000:
        raise ValidationError({"radius_m": "The radius must be between 0 and 2,000 km."})
    geometry = _sql_geometry(
        "SELECT ST_Buffer(ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, 'quad_segs=32')::geometry",
        [lon, lat, radius_m],
    )
    return _zone_create(
        incident=incident,
        geometry=geometry,
        hazard_class=hazard_class_for(incident, hazard_class),
        source_kind=HazardZone.Source.CIRCLE,
        source={"center": [lon, lat], "radius_m": radius_m},
        name=name,
        user=user,
    )


@transaction.atomic(durable=True)
def hazard_zone_buffer(
    *, incident: Incident, geometry: GEOSGeometry, bands: list[tuple[float, float, str]], user, name: str = ""
) -> list[HazardZone]:
    """Rings around a fire perimeter, a cyclone track or any geometry, one zone per distance band in metres
    (e.g. [(0, 1000, "severe"), (1000, 5000, "moderate")]). Bands are rings that do not overlap: a band starting at
    0 includes the geometry itself. Distances are geodesic (buffers on geography)."""
    try:
        ordered = validate_bands(bands)
    except ValueError as error:
        raise ValidationError({"bands": str(error)}) from None
    classes = [hazard_class_for(incident, key, field="bands") for _inner, _outer, key in ordered]
    zones = []
    for (inner, outer, _key), hazard_class in zip(ordered, classes, strict=True):
        outer_sql = "ST_Buffer(ST_GeomFromEWKB(%s)::geography, %s, 'quad_segs=16')::geometry"
        if inner == 0:
            ring = _sql_geometry(
                f"SELECT ST_Union(ST_GeomFromEWKB(%s), {outer_sql})", [geometry.ewkb, geometry.ewkb, outer]
            )
        else:
            inner_sql = outer_sql
            ring = _sql_geometry(
                f"SELECT ST_Difference({outer_sql}, {inner_sql})", [geometry.ewkb, outer, geometry.ewkb, inner]
            )
        if ring is None:
            continue
        zones.append(
            _zone_create(
                incident=incident,
                geometry=ring,
                hazard_class=hazard_class,
                source_kind=HazardZone.Source.BUFFER,
                source={"inner_m": inner, "outer_m": outer, "input_type": geometry.geom_type},
                name=f"{name or 'Buffer'} {inner:g}–{outer:g} m",
                user=user,
            )
        )
    return zones


def raster_class_polygons(
    path: str | Path, classes: list[ClassSpec], *, band: int = 1, simplify: float | None = None, block: int = 2048
):
    """{class index: shapely geometry in EPSG:4326} for a raster classified by the class thresholds. The raster is
    read window by window (never whole), each window classified with numpy and polygonised per class with
    rasterio.features.shapes; pieces are merged and simplified (default tolerance: half a pixel)."""
    import numpy as np
    import rasterio
    import shapely
    from rasterio.features import shapes
    from rasterio.warp import transform_geom
    from rasterio.windows import Window

    pieces: dict[int, list] = {}
    with rasterio.open(path) as dataset:
        crs = dataset.crs
        nodata = dataset.nodata
        tolerance = simplify if simplify is not None else abs(dataset.transform.a) / 2
        for row in range(0, dataset.height, block):
            for col in range(0, dataset.width, block):
                window = Window(col, row, min(block, dataset.width - col), min(block, dataset.height - row))
                values = dataset.read(band, window=window)
                index = classify_values(values, classes, nodata=nodata).astype(np.int32)
                transform = dataset.window_transform(window)
                for geom, value in shapes(index, mask=index >= 0, transform=transform, connectivity=4):
                    if crs is not None and crs.to_epsg() != 4326:
                        geom = transform_geom(crs, "EPSG:4326", geom)
                    pieces.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    merged = {}
    for index, parts in pieces.items():
        union = shapely.union_all(parts)
        if tolerance:
            union = shapely.simplify(union, tolerance, preserve_topology=True)
        merged[index] = union
    return merged


@transaction.atomic(durable=True)
def hazard_zone_from_raster(
    *,
    incident: Incident,
    user,
    path: str | Path | None = None,
    raster_layer: int | None = None,
    band: int = 1,
    simplify: float | None = None,
    name: str = "",
) -> list[HazardZone]:
    """One zone per class of the incident's class table, classifying the raster (a raster layer, or a file given
    by `path`) by its thresholds. Zones record the raster layer they came from as well as its file."""
    import shapely

    if raster_layer is not None:
        layer = _raster_layer(raster_layer)
        path, name = _raster_layer_path(layer), name or layer.name
    if path is None:
        raise ValidationError({"raster_layer": "Give a raster layer."})

    classes = [c for c in incident_classes(incident) if c.min_value is not None or c.max_value is not None]
    if not classes:
        raise ValidationError({"classes": "The incident's classes have no raster thresholds."})
    try:
        polygons = raster_class_polygons(path, class_specs(classes), band=band, simplify=simplify)
    except OSError as error:
        raise ValidationError({"raster": f"The raster could not be read ({error})."}) from None
    zones = []
    for index, geometry in sorted(polygons.items()):
        polygons_only = shapely.get_parts(geometry)
        polygons_only = [p for p in polygons_only if p.geom_type == "Polygon" and not p.is_empty]
        if not polygons_only:
            continue
        multi = GEOSGeometry(memoryview(shapely.MultiPolygon(polygons_only).wkb), srid=4326)
        if not multi.valid:
            multi = _sql_geometry("SELECT ST_GeomFromEWKB(%s)", [multi.ewkb])
        zones.append(
            _zone_create(
                incident=incident,
                geometry=multi,
                hazard_class=classes[index],
                source_kind=HazardZone.Source.RASTER,
                source={
                    "raster_layer": raster_layer,
                    "raster": Path(str(path)).name,  # the file's name only: no server path in the API
                    "band": band,
                    "min_value": classes[index].min_value,
                    "max_value": classes[index].max_value,
                },
                name=f"{name or Path(str(path)).stem} {classes[index].name}",
                user=user,
            )
        )
    return zones


@transaction.atomic(durable=True)
def hazard_zone_revise(
    *,
    zone: HazardZone,
    user,
    geometry: GEOSGeometry | None = None,
    hazard_class: str | None = None,
    name: str | None = None,
) -> HazardZone:
    """Edit a zone by writing its next version; the old version stays for the analyses that used it."""
    current = HazardZone.objects.select_for_update().get(pk=zone.pk)
    if not current.is_current:
        raise ValidationError({"zone": "Only the current version of a zone can be edited."})
    _zone_in_scope(user, current.geom)
    HazardZone.objects.filter(pk=current.pk).update(is_current=False)
    return _zone_create(
        incident=current.incident,
        geometry=_as_multipolygon(geometry) if geometry is not None else current.geom,
        hazard_class=hazard_class_for(current.incident, hazard_class) if hazard_class else current.hazard_class,
        source_kind=current.source_kind if geometry is None else HazardZone.Source.DRAWN,
        source={**current.source, "revised_from": current.pk},
        name=current.name if name is None else name,
        user=user,
        zone_key=current.zone_key,
        version=current.version + 1,
    )


@transaction.atomic(durable=True)
def hazard_zone_retire(*, zone: HazardZone, user=None) -> None:
    """Withdraw a zone from future analyses; every version stays on record."""
    _zone_in_scope(user, zone.geom)
    HazardZone.objects.filter(zone_key=zone.zone_key).update(is_current=False)


# Exposure runs -------------------------------------------------------------------------------------------------


def exposure_run_start(
    *,
    incident: Incident,
    user,
    raster_path: str | None = None,
    raster_band: int = 1,
    raster_layer: int | None = None,
    zone_ids: list[int] | None = None,
    chunk_size: int = 20_000,
) -> ExposureRun:
    """Record an analysis of the incident's current zones (or the given zone versions) and queue it after commit."""
    with transaction.atomic(durable=True):
        zones = HazardZone.objects.filter(incident=incident)
        zones = zones.filter(pk__in=zone_ids) if zone_ids else zones.filter(is_current=True)
        zones = list(zones)
        if zone_ids and len(zones) != len(set(zone_ids)):
            raise ValidationError({"zones": "Some zones do not belong to this incident."})
        if not zones and not raster_path:
            raise ValidationError({"zones": "The incident has no current hazard zone and no raster was given."})
        if raster_path and not Path(raster_path).exists():
            raise ValidationError({"raster_path": "No such raster file."})
        classes = incident_classes(incident)
        # The unit given at upload names the values in the reasons ("[0.7 m, 1.5 m)"); files rarely carry one.
        raster_unit = _raster_layer(raster_layer).unit if raster_layer is not None else ""
        run = ExposureRun.objects.create(
            incident=incident,
            created_by=user,
            parameters={
                "raster_path": raster_path,
                "raster_layer": raster_layer,
                "raster_unit": raster_unit,
                "raster_band": raster_band,
                "chunk_size": chunk_size,
                "classes": [
                    {"id": c.id, "key": c.key, "rank": c.rank, "min_value": c.min_value, "max_value": c.max_value}
                    for c in classes
                ],
            },
        )
        run.zones.set(zones)
        enqueue_on_commit("response.exposure_run", run.pk)
    return run


def exposure_run_execute(*, run_id: int) -> ExposureRun:
    """Run a queued analysis; the run row records progress, counts or the error. All results are written in one
    transaction, so a failure leaves none."""
    from response.exposure import ExposureError, exposure_compute

    def work(run: ExposureRun, progress) -> JobOutcome:
        try:
            return JobOutcome(result=exposure_compute(run=run, progress=progress))
        except ExposureError as error:
            raise ValidationError({"run": str(error)}) from error

    return run_job(ExposureRun, run_id, work, error_field="run", progress_every=0.5)


@transaction.atomic(durable=True)
def exposure_run_delete(*, run: ExposureRun) -> None:
    """Delete a run and its result rows: the run's partition of the results is dropped, not emptied row by row."""
    from response.exposure import partition_drop

    with connection.cursor() as cursor:
        partition_drop(cursor, run.pk)
    run.delete()


# Zones and incidents from the layers app ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def hazard_zone_from_layer(
    *,
    incident: Incident,
    layer,
    user,
    where: dict | None = None,
    class_attribute: str | None = None,
    class_map: dict | None = None,
    hazard_class: str | None = None,
    name: str = "",
) -> list[HazardZone]:
    """Zones from a VectorLayer's polygon features (an upload, a CAP alert's areas or a Copernicus EMS product),
    picked and merged set-based in SQL: features whose properties equal every `where` item, class from
    `class_attribute` (through `class_map`) or `hazard_class` for all; one zone per class."""
    from layers.models import LayerSource

    if not class_attribute and not hazard_class:
        raise ValidationError({"hazard_class": "Give a class for all features or an attribute to read it from."})
    kind = {LayerSource.CAP: HazardZone.Source.CAP, LayerSource.EMS: HazardZone.Source.EMS}.get(
        layer.source_type, HazardZone.Source.VECTOR
    )
    where = {str(k): str(v) for k, v in (where or {}).items()}
    # Attribute values compare as text, so {"status": "2"} matches 2 and "2" alike.
    where_sql = "".join(" AND f.properties ->> %s = %s" for _ in where)
    where_params = [part for item in where.items() for part in item]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT coalesce(%s::jsonb ->> (f.properties ->> %s), f.properties ->> %s, %s) AS class_key,
                   count(*),
                   ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(f.geom)), 3)))
            FROM layers_vectorfeature f
            WHERE f.layer_id = %s AND GeometryType(f.geom) IN ('POLYGON', 'MULTIPOLYGON'){where_sql}
            GROUP BY 1 ORDER BY 1
            """,
            [
                _json(class_map or {}),
                class_attribute or "",
                class_attribute or "",
                hazard_class if not class_attribute else None,
                layer.pk,
                *where_params,
            ],
        )
        groups = cursor.fetchall()
    if not groups:
        raise ValidationError({"where": "No polygon feature of the layer matches the filter."})
    zones = []
    for key, count, raw in groups:
        if key is None or raw is None:
            continue
        target = hazard_class_for(incident, key, field="class_attribute" if class_attribute else "hazard_class")
        geometry = GEOSGeometry(memoryview(bytes(raw)))
        if geometry.empty:
            continue
        zones.append(
            _zone_create(
                incident=incident,
                geometry=geometry,
                hazard_class=target,
                source_kind=kind,
                source={
                    "vector_layer": layer.pk,
                    "where": where,
                    "class_attribute": class_attribute,
                    "features": count,
                },
                name=f"{name or layer.name} {target.name}",
                user=user,
            )
        )
    if not zones:
        raise ValidationError({"class_attribute": "No matching feature has a class value."})
    return zones


def _json(value) -> str:
    import json

    return json.dumps(value)


@transaction.atomic(durable=True)
def incident_from_cap(*, alert, user, hazard_type: str = "other", hazard_class: str = "high") -> Incident:
    """An incident from a CAP alert (never twice for the same identifier), with a zone from the alert's areas."""
    if Incident.objects.filter(cap_identifier=alert.identifier).exists():
        raise ValidationError({"alert": f"An incident was already created from CAP alert {alert.identifier}."})
    areas = _incident_areas_for(user, ())
    incident = Incident.objects.create(
        name=alert.headline or alert.event or alert.identifier,
        hazard_type=hazard_type,
        status=Incident.Status.ALERT,
        description=alert.description,
        started_on=(alert.onset or alert.sent).date(),
        cap_identifier=alert.identifier,
        created_by=user,
    )
    if alert.layer_id:
        with transaction.atomic():
            layer = alert.layer
            kind_classes = incident_classes(incident)
            key = hazard_class if any(c.key == hazard_class for c in kind_classes) else kind_classes[-1].key
            # The nested atomic is not durable; call the SQL part directly.
            hazard_zone_from_layer.__wrapped__(
                incident=incident, layer=layer, user=user, hazard_class=key, name=f"CAP {alert.identifier}"
            )
    incident.areas.set(areas)
    return incident


def _raster_layer(raster_layer_id: int):
    from layers.models import RasterLayer

    try:
        return RasterLayer.objects.get(pk=raster_layer_id)
    except RasterLayer.DoesNotExist:
        raise ValidationError({"raster_layer": "No such raster layer."}) from None


def _raster_layer_path(layer) -> str:
    from layers.selectors import raster_layer_path

    return str(raster_layer_path(layer))


def raster_layer_file(raster_layer_id: int) -> str:
    return _raster_layer_path(_raster_layer(raster_layer_id))
