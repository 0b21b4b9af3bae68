"""Writes for road networks: loading one from a file (directly, or as a job from an upload)."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from distribution.roads import loader
from distribution.roads.models import RoadNetwork, RoadNetworkLoad, RouteRun
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
    no network, edges or vertices.
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
        # ANALYZE may run inside a transaction (unlike VACUUM): fresh statistics for the first routing queries.
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


ROUTE_TASK = "distribution.route_run"
# Up to this many stops a route request is solved inside the request; more go to a worker as a job.
SYNC_MAX_STOPS = 25


def _zones(parameters: dict) -> list[int]:
    from distribution.roads.graph import closure_zone_ids

    return closure_zone_ids(exposure_run_id=parameters.get("exposure_run"), incident_id=parameters.get("incident"))


def route_run_start(
    *,
    user,
    stops: list[dict],
    vehicles: list[int],
    network: int | None = None,
    exposure_run: int | None = None,
    incident: int | None = None,
    time_limit_s: int = 10,
) -> RouteRun:
    """Validate a routing request and create its job: solved at once for a few stops, queued for many.

    stops: [{"point": distribution point id, "demand_kg": > 0, "window": [from_s, until_s]?}]; vehicles: ids.
    """
    from distribution.models import DistributionPoint
    from distribution.roads.models import Vehicle
    from distribution.roads.selectors import network_for

    chosen = network_for(network)
    if not stops:
        raise ValidationError({"stops": "Give at least one stop."})
    point_ids = set()
    for number, stop in enumerate(stops, start=1):
        if not isinstance(stop, dict):
            raise ValidationError({"stops": f"Stop {number}: give {{point, demand_kg}}."})
        try:
            point_ids.add(int(stop["point"]))
            demand = float(stop.get("demand_kg", 0))
        except (KeyError, TypeError, ValueError):
            raise ValidationError({"stops": f"Stop {number}: point must be an id and demand_kg a number."}) from None
        if not demand > 0:
            raise ValidationError({"stops": f"Stop {number}: demand_kg must be more than 0."})
        window = stop.get("window")
        if window is not None and (
            not isinstance(window, list | tuple) or len(window) != 2 or not 0 <= window[0] < window[1] <= 172800
        ):
            raise ValidationError({"stops": f"Stop {number}: window must be [from_s, until_s] seconds of the day."})
    known = set(DistributionPoint.objects.filter(pk__in=point_ids).values_list("pk", flat=True))
    if missing := sorted(point_ids - known):
        raise ValidationError({"stops": f"Unknown distribution point(s): {', '.join(map(str, missing))}."})
    if len(point_ids) != len(stops):
        raise ValidationError({"stops": "Each distribution point may appear once; add its loads together."})
    if not vehicles:
        raise ValidationError({"vehicles": "Give at least one vehicle."})
    fleet = set(Vehicle.objects.filter(pk__in=vehicles, is_active=True).values_list("pk", flat=True))
    if missing := sorted(set(map(int, vehicles)) - fleet):
        raise ValidationError({"vehicles": f"Unknown or inactive vehicle(s): {', '.join(map(str, missing))}."})
    if not 1 <= int(time_limit_s) <= 60:
        raise ValidationError({"time_limit_s": "Give between 1 and 60 seconds."})
    parameters = {
        "stops": stops,
        "vehicles": sorted(fleet),
        "exposure_run": exposure_run,
        "incident": incident,
        "time_limit_s": int(time_limit_s),
    }
    with transaction.atomic():
        run = RouteRun.objects.create(network=chosen, parameters=parameters, created_by=user)
    if len(stops) <= SYNC_MAX_STOPS:
        # A few stops solve in about a second: the caller gets the routes in the answer.
        return route_run_execute(run_id=run.pk)
    enqueue_on_commit(ROUTE_TASK, run.pk)
    return run


def route_run_execute(*, run_id: int) -> RouteRun:
    """Solve a routing request: snap points and depots, cost matrix with closures, OR-Tools, leg geometries."""
    from distribution.models import DistributionPoint
    from distribution.roads import vrp
    from distribution.roads.models import Vehicle
    from distribution.roads.selectors import snap_points

    def work(run: RouteRun, progress) -> JobOutcome:
        params = run.parameters
        zones = _zones(params)
        points = {p.pk: p for p in DistributionPoint.objects.filter(pk__in=[s["point"] for s in params["stops"]])}
        fleet = list(Vehicle.objects.filter(pk__in=params["vehicles"]).select_related("depot").order_by("code"))
        snapped = snap_points(
            run.network_id,
            [(points[s["point"]].location.x, points[s["point"]].location.y) for s in params["stops"]]
            + [(v.depot.location.x, v.depot.location.y) for v in fleet],
            max_m=1000,
        )
        stops, unserved = [], []
        for stop, (vertex, _metres) in zip(params["stops"], snapped, strict=False):
            point = points[stop["point"]]
            if vertex is None:
                unserved.append(
                    {"point": point.pk, "code": point.code, "reason": f"No road within 1000 m of {point.code}."}
                )
                continue
            window = tuple(stop["window"]) if stop.get("window") else None
            stops.append(vrp.Stop(vertex=vertex, demand_kg=float(stop["demand_kg"]), ref=point.pk, window=window))
        trucks = []
        for vehicle, (vertex, _m) in zip(fleet, snapped[len(params["stops"]) :], strict=True):
            if vertex is None:
                raise ValidationError(
                    {"vehicles": f"The depot of {vehicle.code} ({vehicle.depot.code}) is off the roads."}
                )
            window = (
                (vehicle.available_from_s or 0, vehicle.available_until_s or 86400)
                if vehicle.available_from_s is not None or vehicle.available_until_s is not None
                else None
            )
            trucks.append(
                vrp.Truck(depot_vertex=vertex, capacity_kg=vehicle.capacity_kg, ref=vehicle.pk, window=window)
            )
        progress(20, "Travel times between stops with the closures")
        solution = vrp.solve(run.network_id, stops, trucks, zone_ids=zones, time_limit_s=params["time_limit_s"])
        progress(80, "Drawing the routes")
        legs = []
        for route in solution.routes:
            chain = [route["depot_vertex"], *[s["vertex"] for s in route["stops"]], route["depot_vertex"]]
            legs += list(pairwise(chain))
        shapes = vrp.route_geometry(run.network_id, legs, zone_ids=zones)
        vehicles = {v.pk: v for v in fleet}
        routes, total_s, total_m = [], 0.0, 0.0
        for route in solution.routes:
            vehicle = vehicles[route["vehicle"]]
            chain = [route["depot_vertex"], *[s["vertex"] for s in route["stops"]], route["depot_vertex"]]
            lines, metres = [], 0.0
            for a, b in pairwise(chain):
                shape = shapes.get((a, b))
                if shape:
                    lines += shape["geometry"]["coordinates"]
                    metres += shape["metres"]
            clock = vehicle.available_from_s or 0
            stop_rows = []
            for stop in route["stops"]:
                point = points[stop["ref"]]
                clock += stop["leg_cost"]
                stop_rows.append(
                    {
                        "point": point.pk,
                        "code": point.code,
                        "name": point.name,
                        "demand_kg": stop["demand_kg"],
                        "arrival_s": stop["arrival_s"] if stop["arrival_s"] is not None else round(clock),
                    }
                )
                clock += 600
            routes.append(
                {
                    "vehicle": vehicle.pk,
                    "vehicle_code": vehicle.code,
                    "depot": vehicle.depot.code,
                    "load_kg": route["load_kg"],
                    "capacity_kg": vehicle.capacity_kg,
                    "seconds": round(route["cost"], 1),
                    "metres": round(metres, 1),
                    "stops": stop_rows,
                    "geometry": {"type": "MultiLineString", "coordinates": lines},
                }
            )
            total_s += route["cost"]
            total_m += metres
        for item in solution.unserved:
            point = points[item["ref"]]
            unserved.append({"point": point.pk, "code": point.code, **{k: v for k, v in item.items() if k != "ref"}})
        return JobOutcome(
            result={
                "routes": routes,
                "unserved": unserved,
                "total_s": round(total_s, 1),
                "total_m": round(total_m, 1),
                "closed_zones": zones,
            },
            message=f"{len(routes)} routes, {sum(len(r['stops']) for r in routes)} stops, {len(unserved)} unserved",
        )

    return run_job(RouteRun, run_id, work, error_field="parameters")
