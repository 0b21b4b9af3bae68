"""The situation report: a printable HTML page with a folium map of the hazard zones, affected households and
people by area and class, needs, and facilities that cannot be used. Leaflet is served from this server's static
files (django-leaflet ships it), never from a CDN, so the page works offline and prints the same everywhere."""

from __future__ import annotations

import json

from django.db import connection
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone

from response.models import ExposureRun
from response.selectors import exposed_facility_list, exposure_aggregates, exposure_needs, needs_profile_get
from spmis.country import country


def zones_geojson(run: ExposureRun, *, tolerance: float = 0.0005) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(z.geom, %s), 6)::json,
                'properties', json_build_object('name', z.name, 'version', z.version, 'class', c.name,
                                                'rank', c.rank, 'color', c.color)) ORDER BY c.rank), '[]'::json))
            FROM response_exposurerun_zones rz
            JOIN response_hazardzone z ON z.id = rz.hazardzone_id
            JOIN response_hazardclass c ON c.id = z.hazard_class_id
            WHERE rz.exposurerun_id = %s
            """,
            [tolerance, run.pk],
        )
        return cursor.fetchone()[0]


def situation_map_html(run: ExposureRun) -> dict[str, str]:
    """The folium map split into head, body and script parts to embed in the report page."""
    import folium

    collection = zones_geojson(run)
    # The configured country's centre until the zones' extent is known (a run without zones keeps it).
    home = country()
    fmap = folium.Map(location=list(home.center), zoom_start=home.zoom, tiles=None, control_scale=True)
    # Only Leaflet is needed (GeoJSON layers, no markers or Bootstrap): local copies, no CDN.
    fmap.default_js = [("leaflet", static("leaflet/leaflet.js"))]
    fmap.default_css = [("leaflet_css", static("leaflet/leaflet.css"))]
    if collection["features"]:
        layer = folium.GeoJson(
            collection,
            name="Hazard zones",
            style_function=lambda feature: {
                "color": feature["properties"]["color"],
                "fillColor": feature["properties"]["color"],
                "weight": 1,
                "fillOpacity": 0.45,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "version", "class"]),
        )
        layer.add_to(fmap)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(z.geom) AS e "
                "FROM response_exposurerun_zones rz JOIN response_hazardzone z ON z.id = rz.hazardzone_id "
                "WHERE rz.exposurerun_id = %s) s",
                [run.pk],
            )
            x0, y0, x1, y1 = cursor.fetchone()
        fmap.fit_bounds([[y0, x0], [y1, x1]])
    root = fmap.get_root()
    root.render()
    return {"head": root.header.render(), "body": root.html.render(), "script": root.script.render()}


def situation_report_html(*, run: ExposureRun, user, level: int | None = None, k: int | None = None) -> str:
    """The report broken down by `level` (the configured chart level unless given)."""
    if level is None:
        level = country().chart_level
    incident = run.incident
    cells = exposure_aggregates(run=run, user=user, level=level, k=k)
    classes: dict[str, dict] = {}
    for cell in cells:
        total = classes.setdefault(
            cell.class_key, {"name": cell.class_name, "rank": cell.class_rank, "households": 0, "individuals": 0}
        )
        total["households"] += cell.counts["households"] or 0
        total["individuals"] += cell.counts["individuals"] or 0
    needs = exposure_needs(run=run, user=user, profile=needs_profile_get(), level=level) if not k else None
    return render_to_string(
        "response/sitrep.html",
        {
            "incident": incident,
            "run": run,
            "generated_at": timezone.now(),
            "cells": [cell.as_dict() for cell in cells],
            "class_totals": sorted(classes.values(), key=lambda c: -c["rank"]),
            "needs": needs,
            "facilities": list(exposed_facility_list(run=run, user=user)),
            "map": situation_map_html(run),
            "k": k,
            "level": level,
            "summary_json": json.dumps(run.result.get("by_class", {})),
        },
    )
