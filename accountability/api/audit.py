"""The auditor's API: read-only over the audit log (filters, a record's history, CSV). Auditors and administrators
only: every view needs core.view_auditevent, which the kernel grants to auditors."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.api.params import parse_datetime
from accountability.selectors import audit as selectors
from geo.api.serializers import AuditEventSerializer
from spmis.api.params import parse_int, parse_text
from spmis.core.models import AuditEvent

FILTER_PARAMETERS = [
    OpenApiParameter("actor", OpenApiTypes.STR, description="user name, or an actor label such as command:load"),
    OpenApiParameter("table", OpenApiTypes.STR),
    OpenApiParameter("row_id", OpenApiTypes.INT),
    OpenApiParameter("source", OpenApiTypes.STR, enum=list(selectors.SOURCES)),
    OpenApiParameter("action", OpenApiTypes.STR, enum=list(selectors.ACTIONS)),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
]


def parse_filters(params) -> selectors.AuditFilter:
    source = parse_text(params.get("source"), field="source", max_length=16)
    if source and source not in selectors.SOURCES:
        raise ValidationError({"source": f"Choose one of: {', '.join(selectors.SOURCES)}."})
    action_name = parse_text(params.get("action"), field="action", max_length=8)
    if action_name and action_name not in selectors.ACTIONS:
        raise ValidationError({"action": f"Choose one of: {', '.join(selectors.ACTIONS)}."})
    since = parse_datetime(params.get("since"), field="since")
    until = parse_datetime(params.get("until"), field="until")
    if since and until and since >= until:
        raise ValidationError({"until": "The end of the time range must come after its start."})
    return selectors.AuditFilter(
        actor=parse_text(params.get("actor"), field="actor", max_length=150),
        table=parse_text(params.get("table"), field="table", max_length=128),
        row_id=parse_int(params.get("row_id"), field="row_id", default=None),
        source=source,
        action=action_name,
        since=since,
        until=until,
    )


class AuditPagination(CursorPagination):
    """Newest first, by id: a page costs the same on the first day and after a hundred million rows (no count)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log with filters (actor, table, row, source, action, time range); a record's history; CSV."""

    queryset = AuditEvent.objects.none()
    serializer_class = AuditEventSerializer
    pagination_class = AuditPagination

    def get_queryset(self):
        return selectors.audit_log(user=self.request.user, filters=parse_filters(self.request.query_params))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["withheld_tables"] = selectors.withheld_tables(self.request.user)
        return context

    @extend_schema(parameters=FILTER_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[OpenApiParameter("table", OpenApiTypes.STR, required=True), OpenApiParameter("row_id", int)],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def history(self, request):
        """Every audited change of one record, oldest first, with the columns each changed."""
        table = parse_text(request.query_params.get("table"), field="table", max_length=128)
        if not table:
            raise ValidationError({"table": "Name the table of the record."})
        row_id = parse_int(request.query_params.get("row_id"), field="row_id", default=None)
        if row_id is None:
            raise ValidationError({"row_id": "Give the record's id."})
        return Response(selectors.record_history(user=request.user, table=table, row_id=row_id))

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered log as CSV, oldest first, streamed (constant memory whatever its length)."""
        filters = parse_filters(request.query_params)
        response = StreamingHttpResponse(
            selectors.audit_csv(user=request.user, filters=filters), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response


class AuditTablesView(APIView):
    """The tables the audit log holds rows of (for the filter's choices)."""

    required_permissions = ["core.view_auditevent"]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"tables": selectors.audited_tables(), "sources": list(selectors.SOURCES)})
