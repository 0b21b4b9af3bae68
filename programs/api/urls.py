from django.urls import path

from programs.api import views
from programs.credentials.api import cards as credentials
from programs.payments import api as payments
from spmis.api.routers import Router

router = Router()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("cycles", views.CycleViewSet, basename="cycle")
router.register("enrolment-runs", views.EnrolmentRunViewSet, basename="enrolment-run")
router.register("entitlement-runs", views.EntitlementRunViewSet, basename="entitlement-run")
router.register("simulations", views.SimulationViewSet, basename="simulation")
router.register("triggers", views.TriggerViewSet, basename="trigger")
router.register("notices", views.NoticeViewSet, basename="notice")
router.register("fsps", payments.FinancialServiceProviderViewSet, basename="fsp")
router.register("payment-accounts", payments.PaymentAccountViewSet, basename="payment-account")
router.register("payment-account-changes", payments.PaymentAccountChangeViewSet, basename="payment-account-change")
router.register("payment-batches", payments.PaymentBatchViewSet, basename="payment-batch")
router.register("payment-batch-runs", payments.PaymentBatchRunViewSet, basename="payment-batch-run")
router.register("payment-files", payments.PaymentFileViewSet, basename="payment-file")
router.register("payments", payments.PaymentViewSet, basename="payment")
router.register("payment-reports", payments.PaymentReportViewSet, basename="payment-report")
router.register("cards", credentials.CardViewSet, basename="card")
router.register("card-print-batches", credentials.CardPrintBatchViewSet, basename="card-print-batch")
router.register("credential-checks", credentials.CredentialVerifyViewSet, basename="credential-check")
urlpatterns = [
    path("rules/variables/", views.RuleVariablesView.as_view(), name="rule-variables"),
    path("rules/check/", views.RuleCheckView.as_view(), name="rule-check"),
    path("rules/preview/", views.RulePreviewView.as_view(), name="rule-preview"),
    path("rules/explain/", views.RuleExplainView.as_view(), name="rule-explain"),
    path("topups/", views.TopUpView.as_view(), name="topup"),
    *router.urls,
]
