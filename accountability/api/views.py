"""The accountability API: thin views over accountability.selectors."""

from __future__ import annotations

from decimal import Decimal

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability import exports
from accountability.api.params import parse_date
from accountability.selectors import dashboard as selectors
from spmis.api.params import parse_int

SELECTION_PARAMETERS = [
    OpenApiParameter("program", OpenApiTypes.INT, required=True),
    OpenApiParameter("cycle", OpenApiTypes.INT),
    OpenApiParameter("level", OpenApiTypes.INT, description="area level to break down by (country's chart level)"),
    OpenApiParameter("start", OpenApiTypes.DATE),
    OpenApiParameter("end", OpenApiTypes.DATE),
]
EXPORTS = ("areas", "series", "stock")


def money_as_text(value):
    """Decimals as strings, everywhere in a response: amounts are never floats on the wire."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: money_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [money_as_text(item) for item in value]
    return value


def _selection(request) -> selectors.Selection:
    params = request.query_params
    return selectors.selection_for(
        user=request.user,
        program_id=parse_int(params.get("program"), field="program", default=None, minimum=1),
        cycle_id=parse_int(params.get("cycle"), field="cycle", default=None, minimum=1),
        level=parse_int(params.get("level"), field="level", default=None),
    )


def _series(request, selection):
    params = request.query_params
    return selectors.series(
        user=request.user,
        selection=selection,
        start=parse_date(params.get("start"), field="start"),
        end=parse_date(params.get("end"), field="end"),
    )


class DashboardView(APIView):
    """A program's (or cycle's) figures by area, their totals, stock per warehouse and the daily series."""

    required_permissions = ["accountability.view_dashboard"]

    @extend_schema(parameters=SELECTION_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        selection = _selection(request)
        data = selectors.dashboard(user=request.user, selection=selection)
        data["series"] = _series(request, selection)
        return Response(money_as_text(data))


class DashboardExportView(APIView):
    """One table of the dashboard as CSV (streamed): `table` = areas, series or stock."""

    required_permissions = ["accountability.view_dashboard"]

    @extend_schema(
        parameters=[*SELECTION_PARAMETERS, OpenApiParameter("table", OpenApiTypes.STR, enum=list(EXPORTS))],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        table = request.query_params.get("table", "areas")
        if table not in EXPORTS:
            raise ValidationError({"table": f"Choose one of: {', '.join(EXPORTS)}."})
        selection = _selection(request)
        if table == "areas":
            stream = exports.table_csv(
                exports.AREA_COLUMNS, selectors.dashboard(user=request.user, selection=selection)["by_area"]
            )
        elif table == "series":
            stream = exports.table_csv(exports.SERIES_COLUMNS, _series(request, selection))
        else:
            stream = exports.table_csv(exports.STOCK_COLUMNS, selectors.stock_by_warehouse(user=request.user))
        suffix = f"-cycle-{selection.cycle.sequence}" if selection.cycle else ""
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{selection.program.code}{suffix}-{table}.csv"'
        return response
