"""The situation report: a printable HTML page with a folium map of the hazard zones, affected households and
people by area and class, needs, and facilities that cannot be used. Leaflet is served from this server's static
files (django-leaflet ships it), never from a CDN, so the page works offline and prints the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone

from response.models import ExposureRun, NeedsProfile
from response.selectors import aggregate_summary, exposure_aggregates, exposure_needs
from response.signals import situation_report_sections
from spmis.country import country


@dataclass(frozen=True)
class ReportSection:
    """A table another app adds to the situation report (see response.signals.situation_report_sections)."""

    title: str
    columns: list[str]
    rows: list[list]
    empty: str = "None."


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


def areas_geojson(area_ids: list[int], *, tolerance: float = 0.001) -> dict:
    """The boundaries of the affected areas, simplified for a printed page."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, %s), 5)::json,
                'properties', json_build_object('name', a.name, 'code', a.code)) ORDER BY a.code), '[]'::json))
            FROM geo_area a WHERE a.id = ANY(%s)
            """,
            [tolerance, area_ids],
        )
        return cursor.fetchone()[0]


def situation_map_html(run: ExposureRun, *, area_ids: list[int] | None = None) -> dict[str, str]:
    """The folium map split into head, body and script parts to embed in the report page: the affected areas'
    boundaries (there is no base map offline, so they are what tells a reader where the zones are) under the zones."""
    import folium

    collection = zones_geojson(run)
    # The configured country's centre until the zones' extent is known (a run without zones keeps it).
    home = country()
    fmap = folium.Map(location=list(home.center), zoom_start=home.zoom, tiles=None, control_scale=True)
    # Only Leaflet is needed (GeoJSON layers, no markers or Bootstrap): local copies, no CDN.
    fmap.default_js = [("leaflet", static("leaflet/leaflet.js"))]
    fmap.default_css = [("leaflet_css", static("leaflet/leaflet.css"))]
    areas = areas_geojson(area_ids or [])
    if areas["features"]:
        folium.GeoJson(
            areas,
            name="Affected areas",
            style_function=lambda feature: {
                "color": "#374151",
                "weight": 1.2,
                "fillColor": "#ffffff",
                "fillOpacity": 1,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"]),
        ).add_to(fmap)
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
                # The zones and the affected areas around them.
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g) AS e FROM ("
                "SELECT z.geom AS g FROM response_exposurerun_zones rz "
                "JOIN response_hazardzone z ON z.id = rz.hazardzone_id WHERE rz.exposurerun_id = %s "
                "UNION ALL SELECT geom FROM geo_area WHERE id = ANY(%s)) parts) s",
                [run.pk, area_ids or []],
            )
            x0, y0, x1, y1 = cursor.fetchone()
        fmap.fit_bounds([[y0, x0], [y1, x1]])
    root = fmap.get_root()
    root.render()
    # The frame's height comes from the report's stylesheet (and another one in print), after Leaflet has measured
    # the map: without a fresh measurement the map is drawn only in part of its frame.
    name = fmap.get_name()
    refit = f"\n{name}.invalidateSize(); addEventListener('beforeprint', () => {name}.invalidateSize());"
    return {"head": root.header.render(), "body": root.html.render(), "script": root.script.render() + refit}


def _count(value: int | None, k: int | None) -> str:
    return f"<{k}" if value is None else f"{value:,}"


def _summed(figure: dict, key: str) -> str:
    """A sum of cells: "–" when all were withheld, "≥ n" when some were (see aggregate_summary)."""
    if key not in figure["withheld"]:
        return f"{figure[key]:,}"
    return f"≥ {figure[key]:,}" if figure[key] else "–"


def _needs(run: ExposureRun, user, level: int) -> dict | None:
    """Needs totals for the report, each with its unit and grouped digits; None when no profile is the default (the
    section is left out rather than the whole report refused)."""
    profile = NeedsProfile.objects.filter(is_default=True).first()
    if profile is None:
        return None
    needs = exposure_needs(run=run, user=user, profile=profile, level=level)
    items = []
    for item in profile.items:
        total = needs["totals"].get(f"{item['item']} ({item['unit']})", 0)
        items.append({"item": item["item"].capitalize(), "total": f"{round(total):,} {item['unit']}"})
    # People are whole: the displaced basis is a rate times people, rounded once at the end.
    return {
        "profile": needs["profile"],
        "days": needs["days"],
        "displaced": f"{round(needs['displaced']):,}",
        "items": items,
    }


def situation_report_html(*, run: ExposureRun, user, level: int | None = None, k: int | None = None) -> str:
    """The report broken down by `level` (the configured chart level unless given)."""
    if level is None:
        level = country().chart_level
    incident = run.incident
    cells = exposure_aggregates(run=run, user=user, level=level, k=k)
    summary = aggregate_summary(cells)
    class_totals = [
        {"name": c["class_name"], "households": _summed(c, "households"), "individuals": _summed(c, "individuals")}
        for c in summary["by_class"]
    ]
    rows = []
    for cell in cells:
        row = cell.as_dict()
        row["shown"] = {key: _count(cell.counts[key], k) for key in cell.counts}
        rows.append(row)
    # Sections the apps above add (distribution: facilities inside the zones), each already scoped to the user.
    sections = [
        section for _receiver, section in situation_report_sections.send(sender=ExposureRun, run=run, user=user)
    ]
    return render_to_string(
        "response/sitrep.html",
        {
            "incident": incident,
            "run": run,
            "generated_at": timezone.now(),
            "cells": rows,
            "class_totals": class_totals,
            "needs": _needs(run, user, level) if not k else None,
            "sections": [section for section in sections if section is not None],
            "map": situation_map_html(run, area_ids=sorted({cell.area_id for cell in cells if cell.area_id})),
            "k": k,
            "level": level,
        },
    )
