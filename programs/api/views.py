"""Thin views over programs.services (writes) and programs.selectors (reads)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from programs import exports, selectors, services
from programs.api import serializers as s
from programs.eligibility import FUNCTIONS, VARIABLES, RuleContext
from programs.models import Cycle, EnrolmentRun, EntitlementRun, Notice, Program, Scenario, Simulation, Trigger
from programs.population import rule_or_error
from programs.services.topups import TopUpRequest
from response import selectors as response_selectors
from spmis.api.files import temporary_file_response
from spmis.api.pagination import DefaultPagination


def _visible_run(user, run):
    if run is not None and not response_selectors.exposure_run_list(user=user).filter(pk=run.pk).exists():
        raise ValidationError({"exposure_run": "No such analysis among those you can see."})
    return run


def _visible_program(user, program: Program | None, field: str = "program") -> Program | None:
    if program is not None and not selectors.program_visible(user, program):
        raise ValidationError({field: f"Program {program.code} covers areas outside yours."})
    return program


class ProgramViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Programs inside the user's areas. Enrolment by rule is a job; pause, resume and exit are one statement."""

    queryset = Program.objects.none()
    serializer_class = s.ProgramSerializer
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return selectors.program_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        areas = [area.code for area in data.pop("areas", [])]
        serializer.instance = services.program_create(user=self.request.user, areas=areas, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        areas = data.pop("areas", None)
        serializer.instance = services.program_update(
            program=serializer.instance,
            user=self.request.user,
            areas=None if areas is None else [area.code for area in areas],
            **data,
        )

    @extend_schema(request=s.EnrolSerializer, responses={202: s.EnrolmentRunSerializer})
    @action(detail=True, methods=["post"])
    def enrol(self, request, pk=None):
        """Enrol every active household matching the rule (the program's when none is given): a job to poll."""
        program = self.get_object()
        payload = s.EnrolSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.enrolment_start(program=program, user=request.user, **payload.validated_data)
        run.refresh_from_db()
        return Response(s.EnrolmentRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.MembershipChangeSerializer, responses={200: s.EnrolmentRunSerializer})
    @action(detail=True, methods=["post"], url_path="memberships/change")
    def change_memberships(self, request, pk=None):
        program = self.get_object()
        payload = s.MembershipChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.membership_change(program=program, user=request.user, **payload.validated_data)
        return Response(s.EnrolmentRunSerializer(run).data)

    @extend_schema(
        responses={200: s.MembershipSerializer(many=True)},
        parameters=[OpenApiParameter("state", str, enum=[c for c, _ in s.ProgramMembership.State.choices])],
    )
    @action(detail=True, methods=["get"], pagination_class=DefaultPagination)
    def memberships(self, request, pk=None):
        program = self.get_object()
        state = request.query_params.get("state") or None
        if state is not None and state not in s.ProgramMembership.State.values:
            raise ValidationError({"state": f"Choose one of {', '.join(s.ProgramMembership.State.values)}."})
        queryset = selectors.membership_list(user=request.user, program=program, state=state)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.MembershipSerializer(page, many=True).data)


class EnrolmentRunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = EnrolmentRun.objects.none()
    serializer_class = s.EnrolmentRunSerializer

    def get_queryset(self):
        return selectors.enrolment_run_list(user=self.request.user)


class EntitlementRunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = EntitlementRun.objects.none()
    serializer_class = s.EntitlementRunSerializer

    def get_queryset(self):
        return selectors.entitlement_run_list(user=self.request.user)


class CycleViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Cycles of the programs inside the user's areas: generate, submit, approve (a second person), cancel."""

    queryset = Cycle.objects.none()
    serializer_class = s.CycleSerializer
    filterset_fields = ["program", "state", "kind"]

    def get_queryset(self):
        return selectors.cycle_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        _visible_program(self.request.user, data["program"])
        _visible_run(self.request.user, data.get("exposure_run"))
        serializer.instance = services.cycle_create(user=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        for fixed in ("program", "incident", "exposure_run"):
            if fixed in data and data[fixed] != getattr(serializer.instance, fixed):
                raise ValidationError({fixed: "This field cannot be changed; create another cycle."})
            data.pop(fixed, None)
        serializer.instance = services.cycle_update(cycle=serializer.instance, user=self.request.user, **data)

    @extend_schema(request=None, responses={202: s.EntitlementRunSerializer})
    @action(detail=True, methods=["post"])
    def generate(self, request, pk=None):
        run = services.cycle_generate(cycle=self.get_object(), user=request.user)
        run.refresh_from_db()
        return Response(s.EntitlementRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: s.CycleSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        cycle = services.cycle_submit(cycle=self.get_object(), user=request.user)
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(request=None, responses={200: s.CycleSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        cycle = services.cycle_approve(cycle=self.get_object(), user=request.user)
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(request=None, responses={200: s.CycleSerializer})
    @action(detail=True, methods=["post"], url_path="return-to-draft")
    def return_to_draft(self, request, pk=None):
        cycle = services.cycle_return_to_draft(cycle=self.get_object(), user=request.user)
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(request=s.CycleAdvanceSerializer, responses={200: s.CycleSerializer})
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """Mark an approved cycle distributed, or end it."""
        payload = s.CycleAdvanceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cycle = services.cycle_advance(cycle=self.get_object(), user=request.user, **payload.validated_data)
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(request=s.CycleCancelSerializer, responses={200: s.CycleSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        payload = s.CycleCancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cycle = services.cycle_cancel(cycle=self.get_object(), user=request.user, **payload.validated_data)
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(responses={200: s.EntitlementSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=DefaultPagination)
    def entitlements(self, request, pk=None):
        cycle = self.get_object()
        page = self.paginate_queryset(selectors.entitlement_list(user=request.user, cycle=cycle))
        return self.get_paginated_response(s.EntitlementSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("file", str, enum=["csv", "xlsx"])],
        responses={
            (200, "text/csv"): bytes,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes,
        },
    )
    @action(detail=True, methods=["get"], url_path="entitlements/export")
    def export(self, request, pk=None):
        """Every entitlement of the cycle the user may see, as CSV or XLSX (heads' names only with the personal-data
        permission)."""
        cycle = self.get_object()
        kind = request.query_params.get("file", "csv")
        if kind not in ("csv", "xlsx"):
            raise ValidationError({"file": "Choose csv or xlsx."})
        filename = f"{cycle.program.code}-cycle-{cycle.sequence}-entitlements.{kind}"
        if kind == "csv":
            response = StreamingHttpResponse(
                exports.entitlements_csv(user=request.user, cycle=cycle), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return temporary_file_response(
            exports.entitlements_xlsx(user=request.user, cycle=cycle),
            filename=filename,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


class RuleVariablesView(APIView):
    required_permissions = ["programs.view_program"]

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response({"variables": VARIABLES, "functions": FUNCTIONS})


class RuleCheckView(APIView):
    required_permissions = ["programs.view_program"]

    @extend_schema(request=s.RuleSerializer, responses={200: dict})
    def post(self, request):
        payload = s.RuleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = _visible_run(request.user, payload.validated_data.get("exposure_run"))
        compiled = rule_or_error(payload.validated_data["rule"], RuleContext(exposure_run_id=run.pk if run else None))
        return Response({"ok": True, "variables": sorted(compiled.variables)})


class RulePreviewView(APIView):
    required_permissions = ["programs.view_program"]

    @extend_schema(request=s.RuleSerializer, responses={200: dict})
    def post(self, request):
        payload = s.RuleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = _visible_run(request.user, data.get("exposure_run"))
        program = _visible_program(request.user, data.get("program"))
        return Response(selectors.rule_preview(user=request.user, rule=data["rule"], exposure_run=run, program=program))


class RuleExplainView(APIView):
    """Why one household is or is not selected: the rule's value for it and each variable it reads."""

    required_permissions = ["programs.view_program", "registry.view_household"]

    @extend_schema(request=s.RuleExplainSerializer, responses={200: dict})
    def post(self, request):
        payload = s.RuleExplainSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = _visible_run(request.user, data.get("exposure_run"))
        return Response(
            selectors.rule_explain(
                user=request.user, rule=data["rule"], household_id=data["household"], exposure_run=run
            )
        )


class TopUpView(APIView):
    """Top-ups from an analysis in one step: preview, or draft cycles with their entitlements queued."""

    required_permissions = ["programs.add_cycle", "programs.view_program"]

    @extend_schema(request=s.TopUpSerializer, responses={200: dict, 201: dict})
    def post(self, request):
        payload = s.TopUpSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        preview_only = data.pop("preview_only")
        _visible_run(request.user, data["exposure_run"])
        _visible_program(request.user, data.get("program"))
        _visible_program(request.user, data.get("emergency_program"), "emergency_program")
        if data.get("new_program_name") and not request.user.has_perm("programs.add_program"):
            raise PermissionDenied("Creating an emergency program needs the permission to add programs.")
        topup = TopUpRequest(**data)
        if preview_only:
            return Response({"preview": services.topup_preview(request=topup, user=request.user)})
        cycles, preview = services.topup_launch(request=topup, user=request.user)
        for cycle in cycles:
            cycle.refresh_from_db()
        return Response(
            {"cycles": s.CycleSerializer(cycles, many=True).data, "preview": preview}, status=status.HTTP_201_CREATED
        )


class SimulationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Up to four targeting scenarios side by side; results are computed when read."""

    queryset = Simulation.objects.none()

    def get_queryset(self):
        return selectors.simulation_list(user=self.request.user)

    def get_serializer_class(self):
        return s.SimulationInputSerializer

    def _data(self, simulation: Simulation) -> dict:
        return {
            "id": simulation.pk,
            "name": simulation.name,
            "exposure_run": simulation.exposure_run_id,
            "currency": simulation.currency,
            "created_at": simulation.created_at,
            "scenarios": selectors.simulation_results(user=self.request.user, simulation=simulation),
        }

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [
                {"id": sim.pk, "name": sim.name, "exposure_run": sim.exposure_run_id, "created_at": sim.created_at}
                for sim in page
            ]
        )

    @extend_schema(responses={200: dict})
    def retrieve(self, request, *args, **kwargs):
        return Response(self._data(self.get_object()))

    @extend_schema(request=s.SimulationInputSerializer, responses={201: dict})
    def create(self, request, *args, **kwargs):
        payload = s.SimulationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        _visible_run(request.user, data.get("exposure_run"))
        simulation = services.simulation_create(user=request.user, **data)
        return Response(self._data(simulation), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PromoteSerializer, responses={201: s.ProgramSerializer})
    @action(detail=True, methods=["post"], url_path=r"scenarios/(?P<position>[1-4])/promote")
    def promote(self, request, pk=None, position=None):
        simulation = self.get_object()
        if not request.user.has_perm("programs.add_program"):
            raise PermissionDenied("Making a program needs the permission to add programs.")
        scenario = Scenario.objects.filter(simulation=simulation, position=int(position)).first()
        if scenario is None:
            raise ValidationError({"position": f"The simulation has no scenario {position}."})
        payload = s.PromoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        program = services.scenario_promote(scenario=scenario, user=request.user, **payload.validated_data)
        program = selectors.program_list(user=request.user).filter(pk=program.pk).first() or program
        return Response(s.ProgramSerializer(program).data, status=status.HTTP_201_CREATED)


class TriggerViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Trigger.objects.none()
    serializer_class = s.TriggerSerializer

    def get_queryset(self):
        return selectors.trigger_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("is_active", None)
        _visible_program(self.request.user, data["program"])
        serializer.instance = services.trigger_create(user=self.request.user, **data)


class NoticeViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Notice.objects.none()
    serializer_class = s.NoticeSerializer

    def get_queryset(self):
        return selectors.notice_list(user=self.request.user)

    @extend_schema(request=None, responses={200: s.NoticeSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notice = services.notice_read(notice=self.get_object(), user=request.user)
        return Response(s.NoticeSerializer(notice).data)
