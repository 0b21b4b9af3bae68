from django.urls import path, re_path

from accountability.api import audit, indicators, views
from spmis.api.routers import Router

router = Router()
router.register("audit-events", audit.AuditEventViewSet, basename="accountability-audit-event")

COLLECTION = r"^ogc/collections/(?P<collection_id>[a-z0-9-]+)"

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="accountability-dashboard"),
    path("dashboard/export/", views.DashboardExportView.as_view(), name="accountability-dashboard-export"),
    path("audit-tables/", audit.AuditTablesView.as_view(), name="accountability-audit-tables"),
    path("indicators/", indicators.IndicatorsView.as_view(), name="accountability-indicators"),
    path("indicators/export/", indicators.IndicatorsExportView.as_view(), name="accountability-indicators-export"),
    path("ogc/", indicators.LandingView.as_view(), name="accountability-ogc-landing"),
    re_path(r"^ogc/conformance/?$", indicators.ConformanceView.as_view(), name="accountability-ogc-conformance"),
    re_path(r"^ogc/collections/?$", indicators.CollectionsView.as_view(), name="accountability-ogc-collections"),
    re_path(COLLECTION + r"/?$", indicators.CollectionView.as_view(), name="accountability-ogc-collection"),
    re_path(COLLECTION + r"/items/?$", indicators.ItemsView.as_view(), name="accountability-ogc-items"),
    re_path(COLLECTION + r"/items/(?P<fid>[0-9]+)/?$", indicators.ItemView.as_view(), name="accountability-ogc-item"),
    *router.urls,
]
