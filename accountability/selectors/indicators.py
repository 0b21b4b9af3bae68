"""Published indicators: every registered indicator (accountability.indicators) per area at one level, with small
cells suppressed (spmis.core.disclosure) so that no published count singles out fewer than k households; zero is
published as zero. Totals are published too, which is why a lone suppressed cell of an indicator takes the next
smallest with it (complementary suppression, by indicator)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from accountability import indicators as registry
from accountability.indicators import IndicatorQuery
from geo.selectors import area_list, user_area_ids
from programs.models import Program
from response.models import Incident
from spmis.core.disclosure import min_cell, suppress_small_cells, suppressed_total
from spmis.country import country

SIMPLIFY_DEGREES = 0.001


def indicator_query(
    *, user, level: int | None, program_id: int | None = None, incident_id: int | None = None
) -> IndicatorQuery:
    names = country().level_names
    level = country().chart_level if level is None else level
    if not 0 <= level < len(names):
        raise ValidationError({"level": f"Choose an area level between 0 and {len(names) - 1}."})
    if program_id is not None and not Program.objects.filter(pk=program_id).exists():
        raise ValidationError({"program": "No such program."})
    if incident_id is not None and not Incident.objects.filter(pk=incident_id).exists():
        raise ValidationError({"incident": "No such incident."})
    return IndicatorQuery(level=level, areas=user_area_ids(user), program_id=program_id, incident_id=incident_id)


def published(*, query: IndicatorQuery, k: int | None = None) -> dict:
    """{"values": {area id: {indicator: count or None}}, "suppressed": {area id: [indicator, ...]},
    "totals": {indicator: count or None}} for the areas that have any count."""
    cells = []
    totals: dict[str, int] = {}
    for key, indicator in registry.INDICATORS.items():
        total = 0
        for area_id, count in indicator.compute(query):
            total += count
            if area_id is not None:
                cells.append({"area_id": area_id, "indicator": key, "count": count})
        totals[key] = total
    values: dict[int, dict] = {}
    suppressed: dict[int, list[str]] = {}
    for cell in suppress_small_cells(cells, group_by=("indicator",), k=k):
        values.setdefault(cell["area_id"], {})[cell["indicator"]] = cell["count"]
        if cell["suppressed"]:
            suppressed.setdefault(cell["area_id"], []).append(cell["indicator"])
    return {
        "values": values,
        "suppressed": suppressed,
        "totals": {key: suppressed_total(total, k=k) for key, total in totals.items()},
    }


def _properties(area, figures: dict, suppressed: list[str]) -> dict:
    return {
        "code": area.code,
        "name": area.name,
        **{key: figures.get(key, 0) for key in registry.INDICATORS},
        "suppressed": ",".join(suppressed),
    }


def indicator_table(*, user, query: IndicatorQuery) -> dict:
    """Every area at the query's level the user may see, with each indicator (None where suppressed)."""
    result = published(query=query)
    areas = area_list(user=user, level=query.level).select_related(None).order_by("code").only("code", "name")
    return {
        "level": query.level,
        "level_name": country().level_name(query.level),
        "min_cell": min_cell(),
        "indicators": [
            {"key": i.key, "title": i.title, "description": i.description, "unit": i.unit}
            for i in registry.INDICATORS.values()
        ],
        "totals": result["totals"],
        "areas": [
            _properties(area, result["values"].get(area.pk, {}), result["suppressed"].get(area.pk, []))
            for area in areas
        ],
    }


# ---- As OGC API – Features collections: one per area level below the country.


def collection_id(level: int) -> str:
    return f"households-by-{slugify(country().level_name(level))}"


def collection_levels() -> dict[str, int]:
    return {collection_id(level): level for level in range(1, len(country().level_names))}


def indicator_features(*, user, query: IndicatorQuery, bbox=None, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of the areas at the query's level as GeoJSON features (outlines simplified) whose properties are the
    published indicators; and how many areas match."""
    areas = area_list(user=user, level=query.level, simplify=SIMPLIFY_DEGREES, bbox=bbox).order_by("code")
    matched = areas.count()
    page = list(areas[offset : offset + limit])
    result = published(query=query)
    features = [
        {
            "type": "Feature",
            "id": area.pk,
            "geometry": json.loads(area.geometry.geojson) if area.geometry else None,
            "properties": _properties(area, result["values"].get(area.pk, {}), result["suppressed"].get(area.pk, [])),
        }
        for area in page
    ]
    return features, matched


def indicator_feature(*, user, query: IndicatorQuery, area_id: int) -> dict | None:
    areas = area_list(user=user, level=query.level, simplify=SIMPLIFY_DEGREES).filter(pk=area_id)
    area = areas.first()
    if area is None:
        return None
    result = published(query=query)
    return {
        "type": "Feature",
        "id": area.pk,
        "geometry": json.loads(area.geometry.geojson) if area.geometry else None,
        "properties": _properties(area, result["values"].get(area.pk, {}), result["suppressed"].get(area.pk, [])),
    }


def level_extent(*, user, level: int) -> list[float] | None:
    from django.contrib.gis.db.models import Extent

    extent = area_list(user=user, level=level).aggregate(box=Extent("geom"))["box"]
    return list(extent) if extent else None
