from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from geo import selectors, services
from geo.api.serializers import AreaImportCreateSerializer, AreaImportSerializer, AreaSerializer, AuditEventSerializer
from geo.models import Area, AreaImport
from spmis.api.pagination import GeoPagination
from spmis.api.params import parse_bbox, parse_number, parse_text
from spmis.api.uploads import LimitedUploadMixin
from spmis.core.models import AuditEvent
from spmis.country import country


class AreaSearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    level_name = serializers.CharField()
    parent_name = serializers.CharField(allow_null=True)
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)


@extend_schema(
    parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Name contains, or code (P-code) starts with"),
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
            q=parse_text(params.get("q"), field="q"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=True, description="Name or code (P-code), 2+ characters"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (1–50, default 10)"),
        ],
        responses={200: AreaSearchResultSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def search(self, request):
        """Areas to go to on a map: name or code matches within the user's areas, best first, each with its
        bounding box [min_lon, min_lat, max_lon, max_lat] and the configured name of its level."""
        q = parse_text(request.query_params.get("q"), field="q")
        if q is None or len(q) < 2:
            raise ValidationError({"q": "Type at least two characters of a name or code."})
        limit = parse_number(request.query_params.get("limit"), field="limit", minimum=1, maximum=50)
        results = selectors.area_search(user=request.user, q=q, limit=int(limit or 10))
        current = country()
        for result in results:
            result["level_name"] = current.level_name(result["level"])
        return Response(AreaSearchResultSerializer(results, many=True).data)


class AreaImportViewSet(LimitedUploadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Upload a boundary file; poll the returned job for progress, result or row errors."""

    queryset = AreaImport.objects.none()
    serializer_class = AreaImportSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    upload_limit_settings = ("AREA_IMPORT_MAX_BYTES",)

    def get_queryset(self):
        return selectors.area_import_list(user=self.request.user)

    @extend_schema(request=AreaImportCreateSerializer, responses={202: AreaImportSerializer})
    def create(self, request, *args, **kwargs):
        self.upload_check(request, None)
        payload = AreaImportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        upload = data.pop("file")
        self.upload_check(request, upload, "AREA_IMPORT_MAX_BYTES")
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

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["withheld_tables"] = selectors.audit_withheld_tables(self.request.user)
        return context
