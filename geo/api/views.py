import math

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.response import Response

from geo import selectors, services
from geo.api.serializers import AreaImportCreateSerializer, AreaImportSerializer, AreaSerializer, AuditEventSerializer
from geo.models import Area, AreaImport, AuditEvent
from spmis.api.pagination import GeoPagination


def parse_bbox(raw: str | None, *, field: str = "in_bbox") -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        parts = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValidationError({field: "Expected four numbers: min_lon,min_lat,max_lon,max_lat."}) from None
    if len(parts) != 4 or not all(math.isfinite(part) for part in parts):
        raise ValidationError({field: "Expected four numbers: min_lon,min_lat,max_lon,max_lat."})
    if parts[0] > parts[2] or parts[1] > parts[3]:
        raise ValidationError({field: "Expected min_lon,min_lat,max_lon,max_lat with min ≤ max."})
    return parts


def parse_number(raw: str | None, *, field: str, minimum: float = 0, maximum: float = 1e9) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({field: "Must be a number."}) from None
    if not minimum <= value <= maximum:
        raise ValidationError({field: f"Must be between {minimum} and {maximum}."})
    return value


@extend_schema(
    parameters=[
        OpenApiParameter("level", OpenApiTypes.INT),
        OpenApiParameter("parent", OpenApiTypes.STR, description="Parent area code"),
        OpenApiParameter("in_bbox", OpenApiTypes.STR, description="min_lon,min_lat,max_lon,max_lat"),
        OpenApiParameter("simplify", OpenApiTypes.FLOAT, description="Simplification tolerance in degrees"),
    ]
)
class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    """Administrative areas as GeoJSON. Writes go through area imports."""

    queryset = Area.objects.none()
    serializer_class = AreaSerializer
    pagination_class = GeoPagination
    lookup_field = "code"

    def get_queryset(self):
        params = self.request.query_params
        level = parse_number(params.get("level"), field="level", maximum=20)
        return selectors.area_list(
            user=self.request.user,
            level=int(level) if level is not None else None,
            parent_code=params.get("parent"),
            simplify=parse_number(params.get("simplify"), field="simplify", maximum=1),
            bbox=parse_bbox(params.get("in_bbox")),
        )


class AreaImportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Upload a boundary file; poll the returned job for progress, result or row errors."""

    queryset = AreaImport.objects.none()
    serializer_class = AreaImportSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self):
        return selectors.area_import_list(user=self.request.user)

    @extend_schema(request=AreaImportCreateSerializer, responses={202: AreaImportSerializer})
    def create(self, request, *args, **kwargs):
        payload = AreaImportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        upload = data.pop("file")
        if upload.size > settings.SPMIS["AREA_IMPORT_MAX_BYTES"]:
            raise ValidationError({"file": "The file is larger than the configured limit."})
        job = services.area_import_start(
            file=upload, original_name=upload.name, options=services.AreaImportOptions(**data), user=request.user
        )
        job.refresh_from_db()
        return Response(AreaImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only audit log (filter by table and row)."""

    queryset = AuditEvent.objects.none()
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.audit_event_list(table_name=params.get("table"), row_id=params.get("row_id"))
