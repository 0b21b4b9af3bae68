import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.api.tiles import AnyAcceptNegotiation, tile_response
from geo.spatial import geometry_from_client
from geo.tiles import MVT_CONTENT_TYPE, Tile
from registry import exports, selectors, services
from registry.api import serializers as s
from registry.dedup import dedup_run_start
from registry.models import (
    ChangeRequest,
    CustomField,
    CustomFilter,
    DedupRun,
    DuplicateCandidate,
    Household,
    IdType,
    ImportMapping,
    Individual,
    RegistryImport,
)
from spmis.api.files import temporary_file_response
from spmis.api.pagination import KeysetGeoSchemaPagination, KeysetPagination, KeysetSchemaPagination
from spmis.api.params import parse_number
from spmis.api.sqljson import serializer_fields
from spmis.api.uploads import LimitedUploadMixin

SEARCH_PARAMETERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="Name (trigram, accent-insensitive)"),
    OpenApiParameter("registrant_id", OpenApiTypes.STR),
    OpenApiParameter("document", OpenApiTypes.STR, description="ID document number, optionally type:number"),
    OpenApiParameter("phone", OpenApiTypes.STR),
    OpenApiParameter("area", OpenApiTypes.STR, description="Area code (and everything inside it)"),
    OpenApiParameter("within", OpenApiTypes.STR, description="GeoJSON polygon"),
    OpenApiParameter("near", OpenApiTypes.STR, description="lon,lat"),
    OpenApiParameter("radius_m", OpenApiTypes.FLOAT),
    OpenApiParameter("status", OpenApiTypes.STR),
    OpenApiParameter("filter", OpenApiTypes.STR, description="Saved custom filter (id or name)"),
]


def search_from(params) -> selectors.RegistrySearch:
    near = None
    if params.get("near"):
        try:
            lon, lat = (float(part) for part in params["near"].split(","))
        except ValueError:
            raise ValidationError({"near": "Expected lon,lat."}) from None
        near = geometry_from_client({"type": "Point", "coordinates": [lon, lat]}, field="near")
    within = None
    if params.get("within"):
        within = geometry_from_client(params["within"], field="within", allowed=("Polygon", "MultiPolygon"))
    return selectors.RegistrySearch(
        name=params.get("q") or None,
        registrant_id=params.get("registrant_id") or None,
        document=params.get("document") or None,
        phone=params.get("phone") or None,
        area_code=params.get("area") or None,
        within=within,
        near=near,
        radius_m=parse_number(params.get("radius_m"), field="radius_m", maximum=500_000),
        status=params.get("status") or None,
        custom_filter=params.get("filter") or None,
    )


def _lookup_id(raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    if not 0 < value < 2**63:
        raise Http404("Not found.")
    return value


def _one(rows_json: str) -> HttpResponse:
    """The single object of a one-row JSON array built in SQL."""
    if rows_json == "[]":
        raise Http404("No such record in your areas.")
    return HttpResponse(rows_json[1:-1].strip().encode(), content_type="application/json")


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied("You do not have permission to do this.")


class PersonalDataMixin:
    """The one place the registry API chooses between a resource's full representation (`serializer_class`) and
    the reduced one without personal data (`reduced_serializer_class`), by registry.view_personal_data. The schema
    documents the full one (drf-spectacular calls this without a real user)."""

    reduced_serializer_class = None

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or selectors.personal_data_allowed(self.request.user):
            return self.serializer_class
        return self.reduced_serializer_class


@extend_schema(parameters=SEARCH_PARAMETERS)
class HouseholdViewSet(PersonalDataMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Households as GeoJSON with their current members; search parameters as for individuals. Roles without the
    personal-data permission get the reduced representation: no geometry, members, address, external id or custom
    fields, and no search by name, phone, document, place or saved filter (docs/foundation.md)."""

    queryset = Household.objects.none()
    serializer_class = s.HouseholdSerializer
    reduced_serializer_class = s.HouseholdReducedSerializer
    pagination_class = KeysetGeoSchemaPagination  # documents the page; list() pages by keyset itself

    def get_queryset(self):
        return selectors.household_list(user=self.request.user, search=search_from(self.request.query_params))

    def _features(self, ids: list[int], within=None) -> str:
        # The role's field set plugs in here: whatever serializer get_serializer_class() picks for the user decides
        # the fields, the members' fields and whether the exact point is shown; the SQL follows.
        serializer = self.get_serializer_class()
        fields = [field for field in serializer_fields(serializer) if field != serializer.Meta.geo_field]
        return selectors.household_page_json(
            ids=ids,
            fields=fields,
            member_fields=serializer_fields(s.MemberSerializer) if "members" in fields else (),
            geometry=bool(serializer.Meta.geo_field),
            within=within,
        )

    def list(self, request, *args, **kwargs):
        queryset = selectors.household_filter(user=request.user, search=search_from(request.query_params))
        page = KeysetPagination(key="id").paginate(queryset, request)
        return KeysetPagination.response(page, self._features(page.keys), geojson=True)

    def retrieve(self, request, *args, **kwargs):
        # One statement: the visibility check is inside the page query (no row: 404).
        pk = _lookup_id(kwargs["pk"])
        return _one(self._features([pk], within=selectors.scoped_households(request.user).filter(pk=pk)))

    @extend_schema(request=s.HouseholdCreateSerializer, responses={201: s.HouseholdSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.HouseholdCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        household = services.household_create(user=request.user, **payload.validated_data)
        household = selectors.household_list(user=request.user).get(pk=household.pk)
        return Response(self.get_serializer_class()(household).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("file", OpenApiTypes.STR, enum=["csv", "gpkg"])])
    @action(detail=False, methods=["get"])
    def export(self, request):
        """Download the households you may see (with the search applied) as CSV or GeoPackage. Without permission
        to see personal data the CSV has the reduced columns and a GeoPackage (exact points) is refused."""
        kind = request.query_params.get("file", "csv")
        personal = selectors.personal_data_allowed(request.user)
        queryset = self.get_queryset()
        if kind == "csv":
            handle = exports.households_csv(queryset, personal=personal)
            return FileResponse(handle, as_attachment=True, filename="households.csv", content_type="text/csv")
        if kind == "gpkg":
            if not personal:
                raise PermissionDenied("A GeoPackage holds exact locations, which your role may not see; export CSV.")
            path = exports.households_gpkg(queryset)
            return temporary_file_response(
                path, filename="households.gpkg", content_type="application/geopackage+sqlite3"
            )
        raise ValidationError({"file": "Choose csv or gpkg."})


@extend_schema(parameters=SEARCH_PARAMETERS)
class IndividualViewSet(PersonalDataMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Individuals with phones, ID documents and current households; search by name, IDs, phone, place. Roles
    without the personal-data permission get id, registrant id, status and households only."""

    queryset = Individual.objects.none()
    serializer_class = s.IndividualSerializer
    reduced_serializer_class = s.IndividualReducedSerializer
    pagination_class = KeysetSchemaPagination  # documents the page; list() pages by keyset itself

    def get_queryset(self):
        return selectors.individual_list(user=self.request.user, search=search_from(self.request.query_params))

    def _rows(self, ids: list[int], name_scores: list[float] | None = None, within=None) -> str:
        # The role's field set plugs in here, as for households: the fields of get_serializer_class().
        fields = serializer_fields(self.get_serializer_class())
        return selectors.individual_page_json(ids=ids, fields=fields, name_scores=name_scores, within=within)

    def list(self, request, *args, **kwargs):
        search = search_from(request.query_params)
        if search.name:  # ordered by name score: page numbers only, and the score goes with each row
            queryset = selectors.individual_list(user=request.user, search=search)
            page = KeysetPagination(key="id", extra=("name_score",)).paginate(queryset, request, keyset=False)
            scores = [page.extra[pk]["name_score"] for pk in page.keys]
            return KeysetPagination.response(page, self._rows(page.keys, scores))
        # Neither the page nor the count walks the individuals from the first one: the page's rows are bounded by
        # `after` inside the scope test too, and a scoped user's unfiltered list is counted from their households'
        # memberships.
        counted = (
            selectors.scoped_individual_memberships(request.user) if search == selectors.RegistrySearch() else None
        )
        after = KeysetPagination.after(request)
        page = KeysetPagination(key="id").paginate(
            selectors.individual_list(user=request.user, search=search),
            request,
            counted=counted,
            column="individual_id" if counted is not None else "pk",
            rows=selectors.individual_list(user=request.user, search=search, after=after),
        )
        return KeysetPagination.response(page, self._rows(page.keys))

    def retrieve(self, request, *args, **kwargs):
        pk = _lookup_id(kwargs["pk"])
        return _one(self._rows([pk], within=selectors.scoped_individuals(request.user).filter(pk=pk)))

    @extend_schema(request=s.IndividualCreateSerializer, responses={201: s.IndividualSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.IndividualCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        person = services.individual_create(user=request.user, household_id=data.pop("household"), **data)
        return Response(self.get_serializer_class()(person).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def export(self, request):
        """Download the individuals you may see (with the search applied) as CSV (reduced columns without
        permission to see personal data)."""
        handle = exports.individuals_csv(self.get_queryset(), personal=selectors.personal_data_allowed(request.user))
        return FileResponse(handle, as_attachment=True, filename="individuals.csv", content_type="text/csv")


class ChangeRequestViewSet(PersonalDataMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Submit a change; a second user approves (it is then applied, with the diff stored) or rejects it."""

    queryset = ChangeRequest.objects.none()
    serializer_class = s.ChangeRequestSerializer
    reduced_serializer_class = s.ChangeRequestReducedSerializer

    def get_queryset(self):
        return selectors.change_request_list(user=self.request.user)

    @extend_schema(request=s.ChangeRequestCreateSerializer, responses={201: s.ChangeRequestSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ChangeRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        change = services.change_request_submit(
            user=request.user,
            kind=data["kind"],
            household_id=data.get("household"),
            individual_id=data.get("individual"),
            payload=data["payload"],
        )
        return Response(self.get_serializer_class()(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        _require(request, "registry.change_changerequest")
        self.get_object()
        change = services.change_request_approve(user=request.user, request_id=int(pk))
        return Response(self.get_serializer_class()(change).data)

    @extend_schema(request=s.RejectSerializer, responses=s.ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        _require(request, "registry.change_changerequest")
        self.get_object()
        payload = s.RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change = services.change_request_reject(user=request.user, request_id=int(pk), **payload.validated_data)
        return Response(self.get_serializer_class()(change).data)


class RegistryImportViewSet(
    PersonalDataMixin, LimitedUploadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Upload a CSV, XLSX or GeoJSON file; poll the job; download the rejected-rows report."""

    queryset = RegistryImport.objects.none()
    serializer_class = s.RegistryImportSerializer
    reduced_serializer_class = s.RegistryImportReducedSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    upload_limit_settings = ("REGISTRY_IMPORT_MAX_BYTES",)

    def get_queryset(self):
        return selectors.registry_import_list(user=self.request.user)

    @extend_schema(request=s.RegistryImportCreateSerializer, responses={202: s.RegistryImportSerializer})
    def create(self, request, *args, **kwargs):
        self.upload_check(request, None)
        payload = s.RegistryImportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        upload = data.pop("file")
        self.upload_check(request, upload, "REGISTRY_IMPORT_MAX_BYTES")
        mapping = data.pop("mapping")
        if isinstance(mapping, str):
            try:
                mapping = json.loads(mapping)
            except json.JSONDecodeError:
                raise ValidationError({"mapping": "Expected a JSON object {target: column}."}) from None
        if mapping is not None and not isinstance(mapping, dict):
            raise ValidationError({"mapping": "Expected a JSON object {target: column}."})
        job = services.registry_import_start(
            file=upload, original_name=upload.name, mapping=mapping, user=request.user, **data
        )
        job.refresh_from_db()
        return Response(self.get_serializer_class()(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The rejected rows as uploaded (names, dates, phones) with every reason: personal data."""
        job = self.get_object()
        if not selectors.personal_data_allowed(request.user):
            raise PermissionDenied("The report holds the rejected rows' personal data, which your role may not see.")
        if not job.report:
            raise Http404("This import rejected no rows.")
        return FileResponse(job.report.open("rb"), as_attachment=True, filename=f"rejected-rows-{job.pk}.csv")


class ImportMappingViewSet(viewsets.ModelViewSet):
    """Column mappings saved per data source."""

    queryset = ImportMapping.objects.all()
    serializer_class = s.ImportMappingSerializer

    def perform_create(self, serializer):
        serializer.instance = services.import_mapping_save(**serializer.validated_data)

    def perform_update(self, serializer):
        data = {"source": serializer.instance.source, **serializer.validated_data}
        serializer.instance = services.import_mapping_save(source=data["source"], columns=data.get("columns", {}))


class IdTypeViewSet(viewsets.ModelViewSet):
    """ID document types and their number formats."""

    queryset = IdType.objects.all()
    serializer_class = s.IdTypeSerializer


class CustomFieldViewSet(viewsets.ModelViewSet):
    """Custom field definitions (data, not code)."""

    queryset = CustomField.objects.all()
    serializer_class = s.CustomFieldSerializer


class CustomFilterViewSet(viewsets.ModelViewSet):
    """Saved filters; use one with ?filter=<id or name> on households or individuals."""

    queryset = CustomFilter.objects.all()
    serializer_class = s.CustomFilterSerializer

    def perform_create(self, serializer):
        serializer.instance = services.custom_filter_save(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        data = {
            "name": serializer.instance.name,
            "applies_to": serializer.instance.applies_to,
            "conditions": serializer.instance.conditions,
            **serializer.validated_data,
        }
        serializer.instance = services.custom_filter_save(user=self.request.user, **data)


class DedupRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Start duplicate detection; poll the run."""

    queryset = DedupRun.objects.none()
    serializer_class = s.DedupRunSerializer

    def get_queryset(self):
        return selectors.dedup_run_list(user=self.request.user)

    @extend_schema(request=s.DedupRunCreateSerializer, responses={202: s.DedupRunSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.DedupRunCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = dedup_run_start(user=request.user, **payload.validated_data)
        run.refresh_from_db()
        return Response(s.DedupRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class DuplicateCandidateViewSet(PersonalDataMixin, viewsets.ReadOnlyModelViewSet):
    """The review queue of possible duplicates: confirm, dismiss, merge."""

    queryset = DuplicateCandidate.objects.none()
    serializer_class = s.DuplicateCandidateSerializer
    reduced_serializer_class = s.DuplicateCandidateReducedSerializer

    def get_queryset(self):
        return selectors.duplicate_list(user=self.request.user, status=self.request.query_params.get("status"))

    def _decide(self, request, pk, decision):
        _require(request, "registry.change_duplicatecandidate")
        self.get_object()
        if decision == "merge":
            candidate = services.duplicate_merge(user=request.user, candidate_id=int(pk))
        else:
            candidate = services.duplicate_review(user=request.user, candidate_id=int(pk), decision=decision)
        return Response(self.get_serializer_class()(candidate).data)

    @extend_schema(request=None, responses=s.DuplicateCandidateSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, pk, "confirm")

    @extend_schema(request=None, responses=s.DuplicateCandidateSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._decide(request, pk, "dismiss")

    @extend_schema(request=None, responses=s.DuplicateCandidateSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        return self._decide(request, pk, "merge")


class HouseholdTileView(APIView):
    """Household points as a vector tile, only inside the user's areas, for roles that may see households and their
    exact locations (personal data)."""

    required_permissions = ["registry.view_household", selectors.PERSONAL_DATA_PERMISSION]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, MVT_CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request, z, x, y):
        return tile_response(selectors.household_tile(user=request.user, tile=Tile.parse(z, x, y)))
