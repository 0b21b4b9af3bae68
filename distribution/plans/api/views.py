from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from distribution.models import RoadNetwork
from distribution.plans import selectors, services
from distribution.plans.api import serializers as s
from distribution.plans.models import DistributionPlan
from programs.selectors import cycle_list
from registry.models import Household
from response.selectors import exposure_run_list
from spmis.api.params import parse_int


def _one(queryset, pk: int | None, field: str, words: str):
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: f"No {words} {pk} among those you can see."})
    return found


class DistributionPlanViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Distribution plans: POST starts one (a job row to poll); the actions read its assignments, per-point totals,
    shortfalls, transport lines, unreachable households, the diff against another plan and the map."""

    queryset = DistributionPlan.objects.none()
    serializer_class = s.PlanSerializer
    filterset_fields = ["cycle", "status"]

    def get_queryset(self):
        return selectors.plan_list(user=self.request.user)

    @extend_schema(request=s.PlanCreateSerializer, responses={202: s.PlanSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.PlanCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = request.user
        plan = services.plan_start(
            user=user,
            cycle=_one(cycle_list(user=user), data["cycle"], "cycle", "cycle"),
            exposure_run=_one(exposure_run_list(user=user), data["exposure_run"], "exposure_run", "exposure run"),
            network=_one(RoadNetwork.objects.all(), data["network"], "network", "road network"),
            days=data["days"],
            truck_capacity_kg=data["truck_capacity_kg"],
            max_snap_m=data["max_snap_m"],
        )
        plan.refresh_from_db()
        return Response(s.PlanSerializer(plan).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False)
    def cycles(self, request):
        """Cycles a plan can be made for: approved, with approved in-kind entitlements, in the user's areas."""
        return Response({"results": selectors.plannable_cycle_list(user=request.user)})

    def _finished(self) -> DistributionPlan:
        plan = self.get_object()
        if plan.status != DistributionPlan.Status.SUCCEEDED:
            raise ValidationError({"plan": f"Plan {plan.pk} is {plan.status}: its results exist once it succeeds."})
        return plan

    def _page(self, queryset, serializer_class, **context):
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        if "locations" in context:
            ids = [row.household_id for row in rows]
            context["locations"] = dict(Household.objects.filter(id__in=ids).values_list("id", "location"))
        data = serializer_class(rows, many=True, context={"request": self.request, **context}).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _assignments(self, unreachable: bool | None):
        plan = self._finished()
        params = self.request.query_params
        point = params.get("point")
        queryset = selectors.plan_assignment_list(
            user=self.request.user,
            plan=plan,
            point_id=None if point in (None, "") else parse_int(point, field="point", default=0, minimum=1),
            unreachable=unreachable,
        )
        if self.request.user.has_perm(selectors.PERSONAL):
            return self._page(queryset, s.PersonalAssignmentSerializer, locations={})
        return self._page(queryset, s.AssignmentSerializer)

    @extend_schema(
        parameters=[OpenApiParameter("point", OpenApiTypes.INT, description="Only this distribution point")],
        responses=s.PersonalAssignmentSerializer(many=True),
    )
    @action(detail=True)
    def assignments(self, request, pk=None):
        """Each household's point and road travel time (exact place and snap distance with the personal-data
        permission), in the user's areas."""
        return self._assignments(None)

    @extend_schema(responses=s.PersonalAssignmentSerializer(many=True))
    @action(detail=True)
    def unreachable(self, request, pk=None):
        """Households no usable point can serve, each with the reason, and their counts per area and reason."""
        plan = self._finished()
        if request.query_params.get("summary") in ("1", "true"):
            return Response(selectors.plan_unreachable_summary(user=request.user, plan=plan))
        return self._assignments(True)

    @extend_schema(responses=s.PlanPointSerializer(many=True))
    @action(detail=True)
    def points(self, request, pk=None):
        """Per-point totals: usable or why not, capacity, households and people served, travel times."""
        return self._page(selectors.plan_point_list(user=request.user, plan=self._finished()), s.PlanPointSerializer)

    @extend_schema(responses=s.PlanItemSerializer(many=True))
    @action(detail=True)
    def items(self, request, pk=None):
        """Quantities per point and item (base units): needed, on hand at the point, from warehouses, shortfall."""
        return self._page(selectors.plan_item_list(user=request.user, plan=self._finished()), s.PlanItemSerializer)

    @extend_schema(responses=s.PlanItemSerializer(many=True))
    @action(detail=True)
    def shortfalls(self, request, pk=None):
        """The point-item lines that stock cannot cover."""
        queryset = selectors.plan_item_list(user=request.user, plan=self._finished(), shortfall_only=True)
        return self._page(queryset, s.PlanItemSerializer)

    @extend_schema(responses=s.PlanTransportSerializer(many=True))
    @action(detail=True)
    def transport(self, request, pk=None):
        """Which warehouse sends what to which point, with road travel time and truck loads."""
        queryset = selectors.plan_transport_list(user=request.user, plan=self._finished())
        return self._page(queryset, s.PlanTransportSerializer)

    @extend_schema(
        parameters=[OpenApiParameter("against", OpenApiTypes.INT, description="The older plan (default: previous)")],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True)
    def diff(self, request, pk=None):
        """What changed since another plan: households that joined, left or changed point; quantity deltas."""
        plan = self._finished()
        raw = request.query_params.get("against")
        if raw in (None, ""):
            if plan.previous_id is None:
                raise ValidationError({"against": "This plan has no previous plan: give ?against=<plan id>."})
            against_id = plan.previous_id
        else:
            against_id = parse_int(raw, field="against", default=0, minimum=1)
        against = _one(self.get_queryset(), against_id, "against", "plan")
        if against.status != DistributionPlan.Status.SUCCEEDED:
            raise ValidationError({"against": f"Plan {against.pk} is {against.status}."})
        return Response(selectors.plan_diff(user=request.user, plan=plan, against=against))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, url_path="map")
    def map(self, request, pk=None):
        """GeoJSON FeatureCollection of the plan's points, catchments and unreachable households (layer property)."""
        return Response(selectors.plan_map(user=request.user, plan=self._finished()))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, url_path="closed-roads")
    def closed_roads(self, request, pk=None):
        """GeoJSON of the road segments closed by the plan's analysis (what the assignments avoided)."""
        return Response(selectors.plan_closed_roads(plan=self._finished()))
