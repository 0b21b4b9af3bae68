"""Writes for road networks: loading one from a file (directly, or as a job from an upload)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from distribution.roads import loader
from distribution.roads.models import RoadNetwork, RoadNetworkLoad
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

LOAD_TASK = "distribution.network_load"
ODBL = "© OpenStreetMap contributors, ODbL 1.0"
OSM_SUFFIXES = (".pbf", ".osm", ".osm.pbf", ".osm.xml", ".xml")
GEOJSON_SUFFIXES = (".geojson", ".json")


def source_of(path: str | Path) -> str:
    """osm or geojson from the file name; anything else is refused naming the file."""
    name = str(path).lower()
    if name.endswith(GEOJSON_SUFFIXES):
        return RoadNetwork.Source.GEOJSON
    if name.endswith(OSM_SUFFIXES):
        return RoadNetwork.Source.OSM
    raise ValidationError({"file": "Give an OpenStreetMap extract (.osm.pbf, .pbf, .osm) or GeoJSON lines (.geojson)."})


def _check_code(code: str) -> str:
    if not code or slugify(code) != code:
        raise ValidationError({"code": "Use letters, digits and hyphens only (for example sao-paulo-centre)."})
    if RoadNetwork.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A road network with code {code} exists already."})
    return code


def network_load_file(
    *,
    path: str | Path,
    code: str,
    name: str,
    attribution: str | None = None,
    make_default: bool = False,
    user=None,
    progress=None,
) -> RoadNetwork:
    """Load a network from a PBF/.osm extract or GeoJSON lines, all or nothing; returns it ready.

    Runs in one transaction (joins the caller's): a corrupt file raises ValidationError({"file": ...}) and leaves
    no network, edges or vertices. ANALYZE afterwards so pgRouting's edge queries get good plans straight away.
    """
    path = Path(path)
    source = source_of(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ValidationError({"file": f"{path.name} is empty or missing."})
    report = progress or (lambda percent, message: None)
    with transaction.atomic():
        _check_code(code)
        if make_default:
            RoadNetwork.objects.filter(is_default=True).update(is_default=False)
        network = RoadNetwork.objects.create(
            code=code,
            name=name or code,
            source=source,
            attribution=attribution if attribution is not None else ODBL,
            is_default=make_default,
            created_by=user,
        )
        report(10, "Reading the road file")
        if source == RoadNetwork.Source.OSM:
            counts = loader.load_osm(network.pk, path)
        else:
            counts = loader.load_geojson(network.pk, path)
        if not counts["edges"]:
            raise ValidationError({"file": f"{path.name} holds no drivable roads."})
        report(80, f"{counts['edges']} road segments; computing the extent")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE distribution_roadnetwork n SET extent = ST_Envelope(x.e)::geometry(Polygon, 4326)"
                " FROM (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) AS e FROM distribution_roadvertex"
                " WHERE network_id = %s) x"
                " WHERE n.id = %s AND GeometryType(ST_Envelope(x.e)) = 'POLYGON'",
                [network.pk, network.pk],
            )
        network.edge_count, network.vertex_count = counts["edges"], counts["vertices"]
        network.status = RoadNetwork.Status.READY
        network.save(update_fields=["edge_count", "vertex_count", "status", "updated_at"])
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE distribution_roadedge")
            cursor.execute("ANALYZE distribution_roadvertex")
    network.refresh_from_db()
    return network


def network_load_start(*, user, upload: UploadedFile, code: str, name: str, make_default: bool = False):
    """Store an uploaded road file and queue its load; returns the job row (poll it for progress)."""
    source_of(upload.name)
    _check_code(code)
    with transaction.atomic(durable=True):
        load = RoadNetworkLoad(
            created_by=user, parameters={"code": code, "name": name or code, "make_default": bool(make_default)}
        )
        load.file.save(os.path.basename(upload.name), upload, save=False)
        load.save()
    enqueue_on_commit(LOAD_TASK, load.pk)
    return load


def network_load_execute(*, load_id: int) -> RoadNetworkLoad:
    """Run a queued load: the network and its roads commit with the job's success, or nothing does."""

    def work(load: RoadNetworkLoad, progress) -> JobOutcome:
        params = load.parameters
        try:
            network = network_load_file(
                path=load.file.path,
                code=params["code"],
                name=params.get("name") or params["code"],
                make_default=bool(params.get("make_default")),
                user=load.created_by,
                progress=progress,
            )
        except IntegrityError as error:
            raise ValidationError({"code": "A road network with this code exists already."}) from error
        load.network = network
        load.save(update_fields=["network"])
        return JobOutcome(
            result={"network": network.pk, "edges": network.edge_count, "vertices": network.vertex_count},
            message=f"{network.edge_count} road segments, {network.vertex_count} junctions",
        )

    def cleanup(load: RoadNetworkLoad) -> dict:
        if load.file:
            load.file.delete(save=False)
        return {"file": ""}

    return run_job(RoadNetworkLoad, load_id, work, error_field="file", cleanup=cleanup)
