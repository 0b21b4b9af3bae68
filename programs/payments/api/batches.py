"""Serializers and thin views for payment batches, their files, payments and the providers' status reports."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from programs.api.serializers import JOB_FIELDS
from programs.models import Cycle
from programs.payments import selectors, services
from programs.payments.models import (
    FinancialServiceProvider,
    Payment,
    PaymentBatch,
    PaymentBatchRun,
    PaymentEvent,
    PaymentFile,
    PaymentReport,
    PaymentReportIssue,
)
from programs.payments.services.batches import RELEASE_PERMISSION
from spmis.api.uploads import LimitedUploadMixin

DOWNLOAD_PERMISSION = "programs.download_paymentfile"


class MoneyLine(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=3)


class BalanceSerializer(serializers.Serializer):
    planned = MoneyLine()
    paid = MoneyLine()
    failed = MoneyLine()
    returned = MoneyLine()
    pending = MoneyLine()
    cancelled = MoneyLine()


class AreaBalanceSerializer(serializers.Serializer):
    area = serializers.CharField()
    name = serializers.CharField()
    planned = MoneyLine()
    paid = MoneyLine()
    failed = MoneyLine()
    returned = MoneyLine()
    pending = MoneyLine()


class FailedPointProperties(serializers.Serializer):
    payment = serializers.IntegerField()
    end_to_end_id = serializers.CharField()
    household = serializers.IntegerField()
    status = serializers.CharField()
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=3)


class FailedPointGeometry(serializers.Serializer):
    type = serializers.CharField()
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class FailedPoint(serializers.Serializer):
    type = serializers.CharField()
    geometry = FailedPointGeometry()
    properties = FailedPointProperties()


class FailedMapSerializer(serializers.Serializer):
    """What failed-map returns (for the schema): a FeatureCollection of at most `limit` points of `count`."""

    type = serializers.CharField()
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    features = FailedPoint(many=True)


class PaymentBatchSerializer(serializers.ModelSerializer):
    fsp = serializers.SlugRelatedField(slug_field="code", read_only=True)
    prepared_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    released_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PaymentBatch
        fields = [
            "id",
            "code",
            "cycle",
            "program",
            "fsp",
            "status",
            "currency",
            "execution_date",
            "payment_count",
            "payment_sum",
            "fee_sum",
            "flagged_count",
            "held",
            "max_per_file",
            "attempt",
            "prepared_by",
            "prepared_at",
            "released_by",
            "released_at",
            "cancel_reason",
            "created_at",
        ]
        read_only_fields = fields


class PaymentBatchDetailSerializer(PaymentBatchSerializer):
    balance = serializers.SerializerMethodField()

    class Meta(PaymentBatchSerializer.Meta):
        fields = [*PaymentBatchSerializer.Meta.fields, "balance"]
        read_only_fields = fields

    @extend_schema_field(BalanceSerializer)
    def get_balance(self, obj) -> dict:
        return BalanceSerializer(selectors.balances(batch_ids=[obj.pk])).data


class PrepareSerializer(serializers.Serializer):
    cycle = serializers.PrimaryKeyRelatedField(queryset=Cycle.objects.all())
    fsp = serializers.SlugRelatedField(slug_field="code", queryset=FinancialServiceProvider.objects.all())
    execution_date = serializers.DateField(required=False)
    max_per_file = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class PaymentBatchRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentBatchRun
        fields = [*JOB_FIELDS, "batch", "kind"]
        read_only_fields = fields


class PaymentFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentFile
        fields = [
            "id",
            "batch",
            "attempt",
            "sequence",
            "msg_id",
            "file_format",
            "name",
            "nb_of_txs",
            "ctrl_sum",
            "sha256",
            "size_bytes",
            "status",
            "submitted_at",
            "created_at",
        ]
        read_only_fields = fields


class MarkSubmittedSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class PaymentSerializer(serializers.ModelSerializer):
    batch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    entitlement = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "end_to_end_id",
            "batch",
            "entitlement",
            "household",
            "amount",
            "fee",
            "currency",
            "status",
            "status_at",
            "reason_code",
            "reason",
            "flagged",
            "flag_reason",
            "reissue_of",
            "created_at",
        ]
        read_only_fields = fields


class PaymentEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentEvent
        fields = ["id", "status", "reason_code", "reason", "amount", "file", "report", "actor", "at"]
        read_only_fields = fields


class PaymentReportSerializer(serializers.ModelSerializer):
    fsp = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = PaymentReport
        fields = [*JOB_FIELDS, "fsp", "name", "kind", "msg_id", "sha256", "source"]
        read_only_fields = fields


class PaymentReportIssueSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentReportIssue
        fields = ["id", "line", "reference", "payment", "problem"]
        read_only_fields = fields


class ReportUploadSerializer(serializers.Serializer):
    fsp = serializers.SlugRelatedField(slug_field="code", queryset=FinancialServiceProvider.objects.all())
    file = serializers.FileField()


class FetchSerializer(serializers.Serializer):
    fsp = serializers.SlugRelatedField(slug_field="code", queryset=FinancialServiceProvider.objects.all())


def _run_response(run: PaymentBatchRun) -> Response:
    run.refresh_from_db()
    return Response(PaymentBatchRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class PaymentBatchViewSet(viewsets.ReadOnlyModelViewSet):
    """Batches of the programs inside the user's areas: prepare, release (another person), send, cancel."""

    queryset = PaymentBatch.objects.none()
    serializer_class = PaymentBatchSerializer
    filterset_fields = ["cycle", "status", "fsp"]

    def get_queryset(self):
        return selectors.batch_list(user=self.request.user)

    def get_serializer_class(self):
        return PaymentBatchDetailSerializer if self.action == "retrieve" else PaymentBatchSerializer

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action in ("release", "send"):
            return [RELEASE_PERMISSION, "programs.view_paymentbatch"]
        if self.action == "cancel":
            return ["programs.change_paymentbatch", "programs.view_paymentbatch"]
        if self.action == "prepare":
            return [services.batches.PREPARE_PERMISSION, "programs.view_cycle"]
        if self.action == "failed_map":  # and registry.view_personal_data, refused in words by the selector
            return ["programs.view_paymentbatch", "programs.view_payment"]
        return None

    @extend_schema(request=PrepareSerializer, responses={202: PaymentBatchRunSerializer})
    @action(detail=False, methods=["post"])
    def prepare(self, request):
        """Open a batch for a cycle and a provider and make its payments (a job: poll payment-batch-runs)."""
        payload = PrepareSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _run_response(services.batch_prepare(user=request.user, **payload.validated_data))

    @extend_schema(request=None, responses={202: PaymentBatchRunSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Write and validate the files (a second person: never the one who prepared the batch)."""
        return _run_response(services.batch_release(batch=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={202: PaymentBatchRunSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Hand the released files to the provider through its connector."""
        return _run_response(services.batch_send(batch=self.get_object(), user=request.user))

    @extend_schema(request=CancelSerializer, responses={200: PaymentBatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        payload = CancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        batch = services.batch_cancel(batch=self.get_object(), user=request.user, **payload.validated_data)
        return Response(PaymentBatchSerializer(batch).data)

    @extend_schema(responses={200: PaymentFileSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def files(self, request, pk=None):
        files = selectors.file_list(user=request.user, batch=self.get_object())
        return Response(PaymentFileSerializer(files, many=True).data)

    @extend_schema(responses={200: AreaBalanceSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def areas(self, request, pk=None):
        """Planned, paid, failed, returned and pending by district, for the households in the user's areas."""
        rows = selectors.balance_by_area(user=request.user, batch_ids=[self.get_object().pk])
        return Response(AreaBalanceSerializer(rows, many=True).data)

    @extend_schema(responses={200: FailedMapSerializer})
    @action(detail=True, methods=["get"], url_path="failed-map")
    def failed_map(self, request, pk=None):
        """Failed and returned payments as GeoJSON points with their reasons, for households in the user's areas.
        Exact locations are personal data: refused (403, in words) without registry.view_personal_data."""
        return Response(selectors.failed_payment_points(user=request.user, batch=self.get_object()))


class PaymentBatchRunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = PaymentBatchRun.objects.none()
    serializer_class = PaymentBatchRunSerializer
    filterset_fields = ["batch", "kind", "status"]

    def get_queryset(self):
        return selectors.batch_run_list(user=self.request.user)


class PaymentFileViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = PaymentFile.objects.none()
    serializer_class = PaymentFileSerializer
    filterset_fields = ["batch", "status"]

    def get_queryset(self):
        return PaymentFile.objects.filter(batch__in=selectors.batch_list(user=self.request.user))

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action == "download":
            return [DOWNLOAD_PERMISSION, "programs.view_paymentfile"]
        if self.action == "mark_submitted":
            return [RELEASE_PERMISSION, "programs.view_paymentfile"]
        return None

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file as the provider receives it: names and account numbers, for the finance role only."""
        file = self.get_object()
        path = Path(settings.MEDIA_ROOT) / file.path
        if not path.is_file():
            raise PermissionDenied("The file is no longer on the server; release the batch's files again.")
        return FileResponse(path.open("rb"), as_attachment=True, filename=file.name)

    @extend_schema(request=MarkSubmittedSerializer, responses={200: PaymentFileSerializer})
    @action(detail=True, methods=["post"], url_path="mark-submitted")
    def mark_submitted(self, request, pk=None):
        """The file was given to the provider by hand (download transport)."""
        payload = MarkSubmittedSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        file = services.file_mark_submitted(file=self.get_object(), user=request.user, **payload.validated_data)
        return Response(PaymentFileSerializer(file).data)


class PaymentViewSet(viewsets.ReadOnlyModelViewSet):
    """Payments of households in the user's areas: a batch's, or one household's history (?household=)."""

    queryset = Payment.objects.none()
    serializer_class = PaymentSerializer
    filterset_fields = ["batch", "household", "status"]

    def get_queryset(self):
        return selectors.payment_list(user=self.request.user)

    @extend_schema(responses={200: PaymentEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        """The payment's ledger: every state it reached, when, from which file or report."""
        events = selectors.payment_events(user=request.user, payment=self.get_object())
        return Response(PaymentEventSerializer(events, many=True).data)


class PaymentReportViewSet(LimitedUploadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Status files from providers: upload one (or fetch them through the connector), poll its import, list what
    could not be applied."""

    queryset = PaymentReport.objects.none()
    serializer_class = PaymentReportSerializer
    filterset_fields = ["fsp", "status"]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    upload_limit_settings = ("PAYMENT_REPORT_MAX_BYTES",)

    def get_queryset(self):
        return selectors.report_list(user=self.request.user)

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action == "fetch":
            return ["programs.add_paymentreport"]
        return None

    @extend_schema(request=ReportUploadSerializer, responses={202: PaymentReportSerializer})
    def create(self, request, *args, **kwargs):
        self.upload_check(request, None)
        payload = ReportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        self.upload_check(request, upload, "PAYMENT_REPORT_MAX_BYTES")
        report, created = services.report_upload(
            fsp=payload.validated_data["fsp"], user=request.user, name=upload.name, content=upload
        )
        report.refresh_from_db()
        # The same file twice is the report imported already: 200 and the earlier import, nothing changed.
        return Response(PaymentReportSerializer(report).data, status=202 if created else 200)

    @extend_schema(request=FetchSerializer, responses={202: PaymentReportSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def fetch(self, request):
        """Collect the provider's new status files through its connector and import each."""
        payload = FetchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reports = services.reports_fetch(fsp=payload.validated_data["fsp"], user=request.user)
        for report in reports:
            report.refresh_from_db()
        return Response(PaymentReportSerializer(reports, many=True).data, status=202)

    @extend_schema(responses={200: PaymentReportIssueSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def issues(self, request, pk=None):
        """Entries that were not applied, with the reason: unknown references, amounts that differ, and so on."""
        page = self.paginate_queryset(self.get_object().issues.all())
        return self.get_paginated_response(PaymentReportIssueSerializer(page, many=True).data)
