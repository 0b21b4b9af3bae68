"""Road networks, their loads, the fleet, route runs and paths, under /api/v1/distribution/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from distribution.roads import routing, selectors, services
from distribution.roads.documents import route_sheet_pdf
from distribution.roads.graph import closure_zone_ids
from distribution.roads.models import RoadNetwork, RoadNetworkLoad, RouteRun, Vehicle
from spmis.api.params import parse_int
from spmis.api.serializers import JOB_FIELDS, UploadField

MAX_ROAD_FILE_BYTES = 512 * 1024 * 1024


class RoadNetworkSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoadNetwork
        fields = [
            "id", "code", "name", "source", "attribution", "status", "edge_count", "vertex_count", "extent",
            "is_default", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class RoadNetworkLoadSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoadNetworkLoad
        fields = ["id", *JOB_FIELDS, "network"]
        read_only_fields = fields


class RoadUploadSerializer(serializers.Serializer):
    file = UploadField()
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False, default=False)


class VehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "code", "name", "capacity_kg", "depot", "available_from_s", "available_until_s", "is_active"]

    def validate_capacity_kg(self, value):
        if not value > 0:
            raise serializers.ValidationError("The capacity must be more than 0 kg.")
        return value

    def validate(self, attrs):
        start = attrs.get("available_from_s", getattr(self.instance, "available_from_s", None))
        end = attrs.get("available_until_s", getattr(self.instance, "available_until_s", None))
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"available_until_s": "The window must end after it starts."})
        return attrs


class RouteRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouteRun
        fields = ["id", *JOB_FIELDS, "network"]
        read_only_fields = fields


class RouteStopSerializer(serializers.Serializer):
    point = serializers.IntegerField(min_value=1)
    demand_kg = serializers.FloatField(min_value=0.001)
    window = serializers.ListField(
        child=serializers.IntegerField(min_value=0), min_length=2, max_length=2, required=False
    )


class RouteRequestSerializer(serializers.Serializer):
    network = serializers.IntegerField(min_value=1, required=False)
    exposure_run = serializers.IntegerField(min_value=1, required=False)
    incident = serializers.IntegerField(min_value=1, required=False)
    stops = RouteStopSerializer(many=True, allow_empty=False, max_length=500)
    vehicles = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=200)
    time_limit_s = serializers.IntegerField(min_value=1, max_value=60, required=False, default=10)


def _point(raw: str | None, field: str) -> tuple[float, float]:
    try:
        lon, lat = (float(x) for x in (raw or "").split(","))
    except ValueError:
        raise ValidationError({field: f"Give {field} as lon,lat (for example -46.634,-23.550)."}) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({field: "Longitude must be within ±180 and latitude within ±90."})
    return lon, lat


class RoadNetworkViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Road networks: list them, upload an OSM extract or GeoJSON lines (a load job to poll), and find paths."""

    queryset = RoadNetwork.objects.none()
    serializer_class = RoadNetworkSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]

    def get_queryset(self):
        return selectors.network_list()

    @extend_schema(request=RoadUploadSerializer, responses={202: RoadNetworkLoadSerializer})
    def create(self, request, *args, **kwargs):
        payload = RoadUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if upload.size > MAX_ROAD_FILE_BYTES:
            raise ValidationError({"file": f"The file is larger than {MAX_ROAD_FILE_BYTES // 2**20} MB."})
        load = services.network_load_start(
            user=request.user,
            upload=upload,
            code=payload.validated_data["code"],
            name=payload.validated_data.get("name") or "",
            make_default=payload.validated_data["is_default"],
        )
        load.refresh_from_db()
        return Response(RoadNetworkLoadSerializer(load).data, status=202)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, required=True, description="lon,lat"),
            OpenApiParameter("to", OpenApiTypes.STR, required=True, description="lon,lat"),
            OpenApiParameter("exposure_run", OpenApiTypes.INT, description="close roads in this run's zones"),
            OpenApiParameter("incident", OpenApiTypes.INT, description="close roads in the incident's zones"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def path(self, request, pk=None):
        """The quickest road path between two points as a GeoJSON Feature; when closures cut it, reachable is
        false and the reason names the closed roads."""
        network = selectors.network_for(self.get_object().pk)
        start = _point(request.query_params.get("from"), "from")
        end = _point(request.query_params.get("to"), "to")
        run = parse_int(request.query_params.get("exposure_run"), field="exposure_run", default=None, minimum=1)
        incident = parse_int(request.query_params.get("incident"), field="incident", default=None, minimum=1)
        zones = closure_zone_ids(exposure_run_id=run, incident_id=incident)
        result = routing.path_between(network.pk, start, end, zone_ids=zones)
        return Response(result.as_feature())


class RoadNetworkLoadViewSet(viewsets.ReadOnlyModelViewSet):
    """Road network loads (jobs): poll one for progress, the network it made, or the error in the file."""

    queryset = RoadNetworkLoad.objects.all()
    serializer_class = RoadNetworkLoadSerializer


class VehicleViewSet(viewsets.ModelViewSet):
    """The fleet: trucks with their capacity, depot warehouse and optional working hours."""

    queryset = Vehicle.objects.select_related("depot").all()
    serializer_class = VehicleSerializer


class RouteRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Vehicle routing: POST stops and vehicles (solved at once up to 25 stops, else a job to poll); the routes
    as GeoJSON and a printable route sheet."""

    queryset = RouteRun.objects.select_related("network").all()
    serializer_class = RouteRunSerializer

    @extend_schema(request=RouteRequestSerializer, responses={201: RouteRunSerializer, 202: RouteRunSerializer})
    def create(self, request, *args, **kwargs):
        payload = RouteRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = services.route_run_start(
            user=request.user,
            stops=[dict(s) for s in data["stops"]],
            vehicles=data["vehicles"],
            network=data.get("network"),
            exposure_run=data.get("exposure_run"),
            incident=data.get("incident"),
            time_limit_s=data["time_limit_s"],
        )
        run.refresh_from_db()
        return Response(RouteRunSerializer(run).data, status=201 if run.status != RouteRun.Status.PENDING else 202)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def geojson(self, request, pk=None):
        """The routes as a FeatureCollection: one MultiLineString per truck with its stops in order."""
        run = self.get_object()
        features = [
            {
                "type": "Feature",
                "geometry": route["geometry"],
                "properties": {k: v for k, v in route.items() if k != "geometry"},
            }
            for route in (run.result or {}).get("routes", [])
        ]
        return Response(
            {
                "type": "FeatureCollection",
                "features": features,
                "unserved": (run.result or {}).get("unserved", []),
                "attribution": run.network.attribution,
            }
        )

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def sheet(self, request, pk=None):
        """The route sheets to print (PDF): a page per truck, then the stops nobody could serve."""
        run = self.get_object()
        if run.status != RouteRun.Status.SUCCEEDED:
            raise ValidationError({"run": f"Route run {run.pk} is {run.status}; its sheets come when it succeeds."})
        response = HttpResponse(route_sheet_pdf(run), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="route-sheet-{run.pk}.pdf"'
        return response
