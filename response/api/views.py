from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from geo.spatial import geometry_from_client
from response import exports, selectors, services
from response.api import serializers as s
from response.models import ExposureRun, HazardClass, HazardZone, Incident, NeedsProfile
from response.report import situation_report_html
from spmis.api.files import temporary_file_response
from spmis.api.pagination import GeoPagination, KeysetPagination
from spmis.api.params import parse_int
from spmis.api.sqljson import serializer_fields


def _int_param(request, name: str, default: int | None = None, *, minimum: int = 0, maximum: int = 10**9):
    return parse_int(request.query_params.get(name), field=name, default=default, minimum=minimum, maximum=maximum)


def _visible_incident(user, incident: Incident) -> Incident:
    if not selectors.incident_list(user=user).filter(pk=incident.pk).exists():
        raise ValidationError({"incident": "No such incident in your areas."})
    return incident


class ClassTablePermission(BasePermission):
    """An incident's class table is read with the incident and written with the hazard class permission: the
    incident's own `change` permission (coordinators only) must not decide who may edit its classes."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.has_perm("response.view_incident")):
            return False
        return request.method in SAFE_METHODS or user.has_perm("response.change_hazardclass")


class IncidentViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Incidents (filter by status and hazard_type). Emergency coordinators create and update them."""

    queryset = Incident.objects.none()
    serializer_class = s.IncidentSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.incident_list(
            user=self.request.user, status=params.get("status"), hazard_type=params.get("hazard_type")
        )

    @extend_schema(request=s.IncidentWriteSerializer, responses={201: s.IncidentSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.IncidentWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        incident = services.incident_create(user=request.user, areas=data.pop("area_codes"), **data)
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IncidentUpdateSerializer, responses={200: s.IncidentSerializer})
    def update(self, request, *args, **kwargs):
        incident = self.get_object()
        payload = s.IncidentUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        areas = data.pop("area_codes", None)
        incident = services.incident_update(incident=incident, user=request.user, areas=areas, **data)
        return Response(s.IncidentSerializer(incident).data)

    @extend_schema(request=s.IncidentFromCapSerializer, responses={201: s.IncidentSerializer})
    @action(detail=False, methods=["post"], url_path="from-cap")
    def from_cap(self, request):
        """An incident from an imported CAP alert, with a zone from the alert's areas; never twice per alert."""
        from layers.models import CapAlert

        payload = s.IncidentFromCapSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        alert = CapAlert.objects.filter(pk=data["alert"]).first()
        if alert is None:
            raise ValidationError({"alert": "No such CAP alert."})
        incident = services.incident_from_cap(
            alert=alert, user=request.user, hazard_type=data["hazard_type"], hazard_class=data["hazard_class"]
        )
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.HazardClassTableSerializer, responses={200: s.HazardClassSerializer(many=True)})
    @action(
        detail=True,
        methods=["get", "put"],
        url_path="classes",
        permission_classes=[ClassTablePermission],
        pagination_class=None,
    )
    def classes(self, request, pk=None):
        """The incident's class table (its own, or the defaults for its hazard type); PUT replaces its own."""
        incident = self.get_object()
        if request.method == "PUT":
            payload = s.HazardClassTableSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            services.incident_classes_set(incident=incident, classes=payload.validated_data["classes"])
        classes = selectors.hazard_class_list(incident=incident)
        return Response(s.HazardClassSerializer(classes, many=True).data)


class HazardClassViewSet(viewsets.ReadOnlyModelViewSet):
    """Default hazard classes per hazard type (filter by hazard_type)."""

    queryset = HazardClass.objects.none()
    serializer_class = s.HazardClassSerializer

    def get_queryset(self):
        return selectors.hazard_class_list(hazard_type=self.request.query_params.get("hazard_type"))


@extend_schema(
    parameters=[
        OpenApiParameter("incident", OpenApiTypes.INT),
        OpenApiParameter("zone_key", OpenApiTypes.UUID, description="All versions of one zone"),
        OpenApiParameter("all_versions", OpenApiTypes.BOOL),
    ]
)
class HazardZoneViewSet(viewsets.ReadOnlyModelViewSet):
    """Hazard zones as GeoJSON (current versions unless all_versions=true or zone_key is given). POST draws one;
    PATCH writes a new version; DELETE retires the zone (its versions stay); the actions build zones from circles,
    buffers, rasters and vector / CAP / EMS layers."""

    queryset = HazardZone.objects.none()
    serializer_class = s.HazardZoneSerializer
    pagination_class = GeoPagination

    def get_queryset(self):
        params = self.request.query_params
        return selectors.hazard_zone_list(
            user=self.request.user,
            incident_id=_int_param(self.request, "incident"),
            current_only=params.get("all_versions") not in ("true", "1") and self.action == "list",
            zone_key=params.get("zone_key"),
        )

    def _many(self, zones, code=status.HTTP_201_CREATED):
        return Response(s.HazardZoneSerializer(zones, many=True).data, status=code)

    @extend_schema(request=s.ZoneDrawSerializer, responses={201: s.HazardZoneSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ZoneDrawSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        zone = services.hazard_zone_draw(
            incident=_visible_incident(request.user, data["incident"]),
            geometry=geometry_from_client(data["geometry"], allowed=("Polygon", "MultiPolygon")),
            hazard_class=data["hazard_class"],
            name=data["name"],
            user=request.user,
        )
        return Response(s.HazardZoneSerializer(zone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ZoneReviseSerializer, responses={200: s.HazardZoneSerializer})
    def partial_update(self, request, *args, **kwargs):
        zone = self.get_object()
        payload = s.ZoneReviseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        geometry = data.get("geometry")
        zone = services.hazard_zone_revise(
            zone=zone,
            user=request.user,
            geometry=geometry_from_client(geometry, allowed=("Polygon", "MultiPolygon")) if geometry else None,
            hazard_class=data.get("hazard_class"),
            name=data.get("name"),
        )
        return Response(s.HazardZoneSerializer(zone).data)

    def destroy(self, request, *args, **kwargs):
        services.hazard_zone_retire(zone=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.ZoneCircleSerializer, responses={201: s.HazardZoneSerializer})
    @action(detail=False, methods=["post"])
    def circle(self, request):
        payload = s.ZoneCircleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        zone = services.hazard_zone_circle(
            incident=_visible_incident(request.user, data["incident"]),
            lon=data["center"][0],
            lat=data["center"][1],
            radius_m=data["radius_m"],
            hazard_class=data["hazard_class"],
            name=data["name"],
            user=request.user,
        )
        return Response(s.HazardZoneSerializer(zone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ZoneBufferSerializer, responses={201: s.HazardZoneSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def buffer(self, request):
        payload = s.ZoneBufferSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        zones = services.hazard_zone_buffer(
            incident=_visible_incident(request.user, data["incident"]),
            geometry=geometry_from_client(data["geometry"]),
            bands=[(b["inner_m"], b["outer_m"], b["hazard_class"]) for b in data["bands"]],
            name=data["name"],
            user=request.user,
        )
        return self._many(zones)

    @extend_schema(request=s.ZoneFromRasterSerializer, responses={201: s.HazardZoneSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="from-raster")
    def from_raster(self, request):
        payload = s.ZoneFromRasterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        zones = services.hazard_zone_from_raster(
            incident=_visible_incident(request.user, data["incident"]),
            raster_layer=data["raster_layer"],
            band=data["band"],
            simplify=data["simplify"],
            name=data["name"],
            user=request.user,
        )
        return self._many(zones)

    @extend_schema(request=s.ZoneFromLayerSerializer, responses={201: s.HazardZoneSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="from-layer")
    def from_layer(self, request):
        """From an uploaded vector layer, a CAP alert's layer or a Copernicus EMS layer."""
        from layers.models import VectorLayer

        payload = s.ZoneFromLayerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        layer = VectorLayer.objects.filter(pk=data["vector_layer"]).first()
        if layer is None:
            raise ValidationError({"vector_layer": "No such vector layer."})
        zones = services.hazard_zone_from_layer(
            incident=_visible_incident(request.user, data["incident"]),
            layer=layer,
            where=data["where"],
            class_attribute=data["class_attribute"],
            class_map=data["class_map"],
            hazard_class=data["hazard_class"],
            name=data["name"],
            user=request.user,
        )
        return self._many(zones)


@extend_schema(parameters=[OpenApiParameter("incident", OpenApiTypes.INT)])
class ExposureRunViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Exposure analyses: POST starts one (poll the returned row); the actions read its results, aggregates,
    needs, diffs against another run, exports and the situation report."""

    queryset = ExposureRun.objects.none()
    serializer_class = s.ExposureRunSerializer

    def get_queryset(self):
        return selectors.exposure_run_list(user=self.request.user, incident_id=_int_param(self.request, "incident"))

    @extend_schema(request=s.ExposureRunCreateSerializer, responses={202: s.ExposureRunSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ExposureRunCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        raster = services.raster_layer_file(data["raster_layer"]) if data["raster_layer"] else None
        run = services.exposure_run_start(
            incident=_visible_incident(request.user, data["incident"]),
            user=request.user,
            zone_ids=data["zones"] or None,
            raster_path=raster,
            raster_band=data["raster_band"],
            raster_layer=data["raster_layer"],
        )
        run.refresh_from_db()
        return Response(s.ExposureRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    def destroy(self, request, *args, **kwargs):
        services.exposure_run_delete(run=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _named_list_allowed(self) -> None:
        if not self.request.user.has_perm("response.view_exposureresult"):
            raise PermissionDenied("You may not see household-level results.")

    def _filters(self) -> dict:
        params = self.request.query_params
        approximate = params.get("approximate")
        return {
            "hazard_class": params.get("hazard_class"),
            "approximate": None if approximate in (None, "") else approximate in ("true", "1"),
            "area_code": params.get("area"),
        }

    @extend_schema(
        parameters=[
            OpenApiParameter("hazard_class", OpenApiTypes.STR),
            OpenApiParameter("approximate", OpenApiTypes.BOOL),
            OpenApiParameter("area", OpenApiTypes.STR, description="Area code (any level)"),
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number (OFFSET paging; not with after)"),
            OpenApiParameter("page_size", OpenApiTypes.INT),
            OpenApiParameter("after", OpenApiTypes.INT, description="Keyset paging: rows after this household id"),
        ],
        responses={
            200: inline_serializer(
                "ExposureResultPage",
                fields={
                    "count": drf_serializers.IntegerField(),
                    "count_is_estimate": drf_serializers.BooleanField(),
                    "next": drf_serializers.URLField(allow_null=True),
                    "previous": drf_serializers.URLField(allow_null=True),
                    "results": s.ExposureResultSerializer(many=True),
                },
            )
        },
    )
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Affected households, one row each: class, raster value, distance to the zone edge, reason."""
        self._named_list_allowed()
        run = self.get_object()
        queryset = selectors.exposure_result_list(run=run, user=request.user, **self._filters())
        page = KeysetPagination(key="household_id").paginate(queryset, request)
        # The field set is the serializer's: a per-role serializer chosen here changes the page's fields.
        fields = serializer_fields(s.ExposureResultSerializer)
        rows = selectors.exposure_result_page_json(run=run, household_ids=page.keys, fields=fields)
        return KeysetPagination.response(page, rows)

    @extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.INT, description="Area level (0 = country)"),
            OpenApiParameter("k", OpenApiTypes.INT, description="Suppress cells under k households"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def aggregates(self, request, pk=None):
        """Households and people by class × area at a level; with k, k-anonymous for sharing with partners."""
        k = _int_param(request, "k", minimum=1, maximum=1000)
        if not request.user.has_perm("response.view_exposureresult"):
            k = max(k or 0, selectors.DEFAULT_K)  # users without the named list only get shareable aggregates
        rows = selectors.exposure_aggregates(
            run=self.get_object(), user=request.user, level=_int_param(request, "level", 0, maximum=20), k=k
        )
        return Response({"k": k, "rows": [row.as_dict() for row in rows], **selectors.aggregate_summary(rows)})

    @extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.INT),
            OpenApiParameter("profile", OpenApiTypes.INT, description="Needs profile id (default profile if absent)"),
            OpenApiParameter("days", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def needs(self, request, pk=None):
        """Needs on the displaced basis (people × the class's displacement rate × daily quantities × days)."""
        return Response(
            selectors.exposure_needs(
                run=self.get_object(),
                user=request.user,
                profile=selectors.needs_profile_get(_int_param(request, "profile")),
                level=_int_param(request, "level", 0, maximum=20),
                days=_int_param(request, "days", minimum=1, maximum=365),
            )
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("against", OpenApiTypes.INT, required=True, description="The earlier run"),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """Newly affected, no longer affected and class changed, compared with another run of the incident."""
        self._named_list_allowed()
        against_id = _int_param(request, "against")
        if against_id is None:
            raise ValidationError({"against": "Give the id of the run to compare with."})
        against = get_object_or_404(self.get_queryset(), pk=against_id)
        return Response(
            selectors.exposure_diff(
                run=self.get_object(),
                against=against,
                user=request.user,
                limit=_int_param(request, "limit", 1000, minimum=1, maximum=10_000),
                offset=_int_param(request, "offset", 0),
            )
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("as", OpenApiTypes.STR, enum=list(exports.EXPORT_FORMATS), required=True),
            OpenApiParameter("hazard_class", OpenApiTypes.STR),
            OpenApiParameter("approximate", OpenApiTypes.BOOL),
            OpenApiParameter("area", OpenApiTypes.STR),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path="export")
    def export(self, request, pk=None):
        """The affected list as CSV (streamed), XLSX or GeoPackage."""
        self._named_list_allowed()
        run = self.get_object()
        # "as", not "format": DRF reserves ?format= for choosing a renderer.
        fmt = request.query_params.get("as", "")
        if fmt not in exports.EXPORT_FORMATS:
            raise ValidationError({"as": f"Choose one of: {', '.join(exports.EXPORT_FORMATS)}."})
        name = f"incident-{run.incident_id}-run-{run.pk}-affected.{fmt}"
        if fmt == "csv":
            response = StreamingHttpResponse(
                exports.affected_csv(run=run, user=request.user, **self._filters()), content_type="text/csv"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        path = exports.export_file(run=run, user=request.user, fmt=fmt, **self._filters())
        content_type = {
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "gpkg": "application/geopackage+sqlite3",
        }[fmt]
        return temporary_file_response(path, filename=name, content_type=content_type)

    @extend_schema(
        parameters=[OpenApiParameter("level", OpenApiTypes.INT), OpenApiParameter("k", OpenApiTypes.INT)],
        responses={(200, "text/html"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The printable situation report (HTML; print to PDF from the browser)."""
        k = _int_param(request, "k", minimum=1, maximum=1000)
        if not request.user.has_perm("response.view_exposureresult"):
            k = max(k or 0, selectors.DEFAULT_K)
        html = situation_report_html(
            run=self.get_object(), user=request.user, level=_int_param(request, "level", None, maximum=20), k=k
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class NeedsProfileViewSet(viewsets.ModelViewSet):
    """Needs profiles: daily quantities per displaced person (e.g. Sphere minimum standards). They are national:
    users bound to areas read them but may not change them."""

    queryset = NeedsProfile.objects.all()
    serializer_class = s.NeedsProfileSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS and not selectors.needs_profile_editable(user=request.user):
            raise PermissionDenied("Needs profiles are national: only users without an area scope may change them.")
