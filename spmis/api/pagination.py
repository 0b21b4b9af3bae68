"""Pagination for the API.

- DefaultPagination / GeoPagination: page numbers with a hard cap, for plain JSON and GeoJSON FeatureCollections
  (the small lists).
- KeysetPagination: for lists that grow with the registry (households, individuals, exposure results). Pages are
  read by keyset (`after=<last key of the previous page>`, ordered by the key), so the thousandth page costs what
  the first does; `page=<n>` still works (OFFSET, for small lists and for orderings other than by the key, such as
  a name search by score). The count is exact up to SPMIS["API_EXACT_COUNT_LIMIT"] rows and otherwise the
  planner's estimate, flagged `count_is_estimate: true`: counting never reads more than that many rows, and not
  at all when the planner expects more than twice as many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpResponse
from psycopg import sql
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework_gis.pagination import GeoJsonPagination

from spmis.api.params import parse_int


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.SPMIS["API_MAX_PAGE_SIZE"]


class GeoPagination(GeoJsonPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = settings.SPMIS["API_MAX_PAGE_SIZE"]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """The page as it is sent: a FeatureCollection with count/next/previous and the features themselves.
        `schema` is the reference drf-spectacular made for the list (`<Feature>List`, a whole FeatureCollection);
        its items are the `<Feature>` component."""
        ref = schema.get("$ref", "")
        items = {"$ref": ref.removesuffix("List")} if ref.endswith("List") else {"type": "object"}
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["type", "count", "next", "previous", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer", "example": 123},
                "next": link,
                "previous": link,
                "features": {"type": "array", "items": items},
            },
        }


def _keyset_schema(schema: dict) -> dict:
    schema["properties"] = {
        **schema["properties"],
        "count_is_estimate": {
            "type": "boolean",
            "description": "true when `count` is the planner's estimate (lists longer than the exact-count limit)",
        },
    }
    schema["required"] = [*schema.get("required", []), "count_is_estimate"]
    return schema


_AFTER_PARAMETER = {
    "name": "after",
    "required": False,
    "in": "query",
    "description": "Keyset paging: the rows after this key (the `next` link carries it). Not with `page`.",
    "schema": {"type": "integer"},
}


class KeysetSchemaPagination(DefaultPagination):
    """What a KeysetPagination page looks like, for the OpenAPI schema (the views page by keyset themselves)."""

    def get_paginated_response_schema(self, schema):
        return _keyset_schema(super().get_paginated_response_schema(schema))

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), _AFTER_PARAMETER]


class KeysetGeoSchemaPagination(GeoPagination):
    """As KeysetSchemaPagination, for GeoJSON FeatureCollection pages."""

    def get_paginated_response_schema(self, schema):
        return _keyset_schema(super().get_paginated_response_schema(schema))

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), _AFTER_PARAMETER]


def _planner_rows(queryset: QuerySet) -> int:
    query, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(sql.SQL(query)), params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(
    queryset: QuerySet, limit: int, *, counted: QuerySet | None = None, column: str = "pk"
) -> tuple[int, bool]:
    """(count, is_estimate) of `queryset`: exact when it holds at most `limit` rows (no more than limit + 1 are
    read), else the planner's row estimate (never below limit + 1). When the planner already expects more than
    twice the limit, its estimate is given without counting at all.

    `counted` (with `column`, counted distinct) is an equivalent set that is cheaper to read up to the limit, such
    as a scoped user's individuals counted from their households' memberships."""
    estimate = _planner_rows(queryset)
    if estimate > 2 * limit:
        return estimate, True
    source = counted if counted is not None else queryset
    capped, params = source.order_by().values(column)[: limit + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        # The ORM's own SQL for the queryset, wrapped (it carries its placeholders; values go as parameters).
        cursor.execute(
            sql.SQL("SELECT count(*), count(DISTINCT key) FROM ({}) AS capped(key)").format(sql.SQL(capped)), params
        )
        rows, distinct = cursor.fetchone()
    if rows <= limit:
        return distinct, False
    return max(estimate, limit + 1), True


@dataclass
class KeysetPage:
    """One page: the rows' keys in order (the caller builds their JSON), and the envelope."""

    keys: list
    extra: dict  # key -> {column: value} for values the page query computed (a name search's score)
    count: int
    count_is_estimate: bool
    next: str | None
    previous: str | None


class KeysetPagination:
    """See the module docstring. `key` is the unique column the list is ordered by when read by keyset."""

    page_size = 100
    max_page_size = settings.SPMIS["API_MAX_PAGE_SIZE"]

    def __init__(self, *, key: str = "pk", extra: tuple[str, ...] = ()) -> None:
        self.key = key
        self.extra = extra

    @staticmethod
    def after(request, *, keyset: bool = True) -> int | None:
        """The keyset bound `after` of the request (None on a first or numbered page), checked."""
        params = request.query_params
        after = params.get("after")
        if after in (None, ""):
            return None
        if params.get("page") not in (None, "") or not keyset:
            field = "page" if params.get("page") not in (None, "") else "after"
            raise ValidationError({field: "Use either page or after (after only without a name search)."})
        return parse_int(after, field="after", default=None, maximum=2**63 - 1)

    def paginate(
        self,
        queryset: QuerySet,
        request,
        *,
        keyset: bool = True,
        counted: QuerySet | None = None,
        column: str = "pk",
        rows: QuerySet | None = None,
    ) -> KeysetPage:
        """A page of `queryset`. `keyset=False` when it is ordered by something other than the key (then only page
        numbers); `counted`/`column` as for bounded_count; `rows`, the same list already bounded by after() where
        the caller can bound it better than a filter on the key can, to read the page from."""
        params = request.query_params
        size = parse_int(
            params.get("page_size"), field="page_size", default=self.page_size, minimum=1, cap=self.max_page_size
        )
        page = parse_int(params.get("page"), field="page", default=None, minimum=1, maximum=10**7)
        after = self.after(request, keyset=keyset)
        limit = settings.SPMIS["API_EXACT_COUNT_LIMIT"]
        count, estimate = bounded_count(queryset, limit, counted=counted, column=column)

        url = request.build_absolute_uri()
        columns = (self.key, *self.extra)
        if page is None and keyset:
            rows = rows if rows is not None else queryset
            if after is not None:
                rows = rows.filter(**{f"{self.key}__gt": after})
            rows = list(rows.order_by(self.key).values_list(*columns)[: size + 1])
            more = len(rows) > size
            rows = rows[:size]
            next_url = replace_query_param(remove_query_param(url, "page"), "after", rows[-1][0]) if more else None
            previous_url = None  # keyset pages go forward; a client keeps the links it has followed
        else:
            page = page or 1
            start = (page - 1) * size
            rows = list((rows if rows is not None else queryset).values_list(*columns)[start : start + size + 1])
            more = len(rows) > size
            rows = rows[:size]
            base = remove_query_param(url, "after")
            next_url = replace_query_param(base, "page", page + 1) if more else None
            previous_url = None
            if page > 1:
                previous_url = (
                    replace_query_param(base, "page", page - 1) if page > 2 else remove_query_param(base, "page")
                )
        extra = {row[0]: dict(zip(self.extra, row[1:], strict=True)) for row in rows} if self.extra else {}
        return KeysetPage([row[0] for row in rows], extra, count, estimate, next_url, previous_url)

    @staticmethod
    def response(page: KeysetPage, rows_json: str, *, geojson: bool = False) -> HttpResponse:
        """The page as JSON: `rows_json` is the rows' JSON array, already built (in SQL), spliced in as it is."""
        head = {"count": page.count, "count_is_estimate": page.count_is_estimate}
        head = {"type": "FeatureCollection", **head} if geojson else head
        head.update(next=page.next, previous=page.previous)
        body = json.dumps(head)[:-1] + (', "features": ' if geojson else ', "results": ') + rows_json + "}"
        return HttpResponse(body.encode(), content_type="application/json")
