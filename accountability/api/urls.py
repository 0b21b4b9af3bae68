from django.urls import path

from accountability.api import audit, views
from spmis.api.routers import Router

router = Router()
router.register("audit-events", audit.AuditEventViewSet, basename="accountability-audit-event")

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="accountability-dashboard"),
    path("dashboard/export/", views.DashboardExportView.as_view(), name="accountability-dashboard-export"),
    path("audit-tables/", audit.AuditTablesView.as_view(), name="accountability-audit-tables"),
    *router.urls,
]
