"""Reads, and the one place where area scoping is applied."""

from __future__ import annotations

from django.contrib.gis.db.models import FloatField, MultiPolygonField
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from geo.models import Area, AreaImport, AreaPiece, AreaScope
from spmis.core.models import AuditEvent


def user_area_ids(user) -> list[int] | None:
    """Ids of the areas a user is bound to, or None when the user is national (no restriction): a superuser, or a
    user without an area scope. A scope that holds no areas (all removed, or none chosen yet) means no areas, so
    nothing is visible, rather than everything."""
    if user is None or not user.is_authenticated:
        return []
    if user.is_superuser:
        return None
    cached = getattr(user, "_spmis_area_ids", "unset")
    if cached != "unset":
        return cached
    # One query tells both whether the scope row exists and which areas it holds.
    scope = (
        AreaScope.objects.filter(user=user)
        .annotate(ids=ArrayAgg("areas__id", filter=Q(areas__isnull=False), default=Value([])))
        .values_list("ids", flat=True)
        .first()
    )
    result = None if scope is None else list(scope)
    user._spmis_area_ids = result
    return result


def scope_area_ids(user, ids: list[int]) -> list[int]:
    """The ids of every area inside the user's areas (themselves included), resolved once per request (cached on
    the user object). Filtering a table by this literal list lets the planner use its statistics for the areas'
    rows (a join to geo_area, or a subquery, is estimated blind), and spares a geo_area lookup per row when a long
    list is walked in id order (keyset pages)."""
    cached = getattr(user, "_spmis_scope_area_ids", None)
    if cached is not None and cached[0] == ids:
        return cached[1]
    found = list(Area.objects.filter(lineage__overlap=ids).order_by("id").values_list("id", flat=True))
    if user is not None:
        user._spmis_scope_area_ids = (ids, found)
    return found


def scope_queryset(queryset: QuerySet, user, *, area_field: str = "area") -> QuerySet:
    """Restrict a queryset to rows inside the user's areas. `area_field` is the path to an Area (or "" when the
    queryset is of areas itself)."""
    ids = user_area_ids(user)
    if ids is None:
        return queryset
    if not ids:
        # Nothing is visible. A false condition rather than none() or an empty IN list: Django refuses to compile
        # either into SQL, and pages built in SQL embed the compiled query.
        return queryset.filter(Value(False, output_field=BooleanField()))
    prefix = f"{area_field}__" if area_field else ""
    if area_field == "":
        # An area is visible when it lies inside a scope area, or is an ancestor of one (for context maps).
        ancestors = Area.objects.filter(id__in=ids).values_list("lineage", flat=True)
        ancestor_ids = {a for lineage in ancestors for a in lineage}
        return queryset.filter(Q(lineage__overlap=ids) | Q(id__in=ancestor_ids))
    field = queryset.model._meta.get_field(area_field) if "__" not in area_field else None
    if field is not None and field.many_to_one and field.related_model is Area:
        return queryset.filter(**{f"{field.attname}__in": scope_area_ids(user, ids)})
    return queryset.filter(**{f"{prefix}lineage__overlap": ids})


def area_in_scope(user, area_id: int | None) -> bool:
    ids = user_area_ids(user)
    if ids is None:
        return True
    if area_id is None:
        return False
    return Area.objects.filter(id=area_id, lineage__overlap=ids).exists()


def geometry_in_scope(user, geometry) -> bool:
    """Whether a geometry (a hazard zone) touches the user's areas: always for national users. Tested against the
    subdivided area pieces, so large boundaries cost a few index probes."""
    ids = user_area_ids(user)
    if ids is None:
        return True
    return bool(ids) and AreaPiece.objects.filter(area_id__in=ids, geom__intersects=geometry).exists()


def area_list(
    *,
    user,
    level: int | None = None,
    parent_code: str | None = None,
    simplify: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    q: str | None = None,
) -> QuerySet[Area]:
    queryset = scope_queryset(Area.objects.select_related("parent"), user, area_field="")
    if q:
        queryset = queryset.filter(area_text_q(q))
    if level is not None:
        queryset = queryset.filter(level=level)
    if parent_code:
        queryset = queryset.filter(parent__code=parent_code)
    if bbox is not None:
        queryset = queryset.filter(geom__bboverlaps=Polygon.from_bbox(bbox))
    if simplify:
        simplified = Func(
            Func(F("geom"), Value(simplify, output_field=FloatField()), function="ST_SimplifyPreserveTopology"),
            function="ST_Multi",
            output_field=MultiPolygonField(srid=4326),
        )
        queryset = queryset.annotate(geometry=simplified)
    else:
        queryset = queryset.annotate(geometry=Transform("geom", 4326))
    return queryset.defer("geom")


def area_text_q(q: str) -> Q:
    """Areas whose name contains `q` or whose code (P-code) starts with it, ignoring case."""
    return Q(name__icontains=q) | Q(code__istartswith=q)


def area_search(*, user, q: str, limit: int = 10) -> list[dict]:
    """Areas matching `q` (name or code) within the user's scope, best first: an exact code, then a name that
    starts with `q`, then higher levels before lower ones. Each comes with its bounding box, not its outline, so
    that a search box can answer with a few hundred bytes and the map can fit the area."""
    from django.contrib.gis.db.models.functions import Envelope
    from django.db.models import Case, IntegerField, When

    queryset = (
        scope_queryset(Area.objects.all(), user, area_field="")
        .filter(area_text_q(q))
        .annotate(
            rank=Case(
                When(code__iexact=q, then=Value(0)),
                When(name__istartswith=q, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            box=Envelope("geom"),
        )
        .select_related("parent")
        .order_by("rank", "level", "name", "code")
        .only("id", "code", "name", "level", "parent__name", "parent__code")[:limit]
    )
    results = []
    for area in queryset:
        west, south, east, north = area.box.extent
        results.append(
            {
                "id": area.id,
                "code": area.code,
                "name": area.name,
                "level": area.level,
                "parent_name": area.parent.name if area.parent else None,
                "bbox": [west, south, east, north],
            }
        )
    return results


def area_import_list(*, user) -> QuerySet[AreaImport]:
    return AreaImport.objects.select_related("created_by")


def audit_withheld_tables(user) -> set[str]:
    """Tables whose audited values (before/after) the user may not read: an app names its personal-data tables and
    the permission that opens them on its AppConfig (`personal_data_tables`, `personal_data_permission`), so geo
    needs to know nothing of the app. A user bound to areas never reads them, permission or not: an audit row names
    a record of any table, and which area it belongs to cannot be told from the log."""
    from django.apps import apps

    bound_to_areas = user_area_ids(user) is not None
    withheld: set[str] = set()
    for config in apps.get_app_configs():
        tables = getattr(config, "personal_data_tables", ())
        permission = getattr(config, "personal_data_permission", None)
        if tables and (bound_to_areas or not (permission and user.has_perm(permission))):
            withheld.update(tables)
    return withheld


def audit_event_list(*, table_name: str | None = None, row_id: str | None = None) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.all()
    if table_name:
        queryset = queryset.filter(table_name=table_name)
    if row_id:
        queryset = queryset.filter(row_id=row_id)
    return queryset
