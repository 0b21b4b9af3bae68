from rest_framework.routers import DefaultRouter

from geo.api import views

router = DefaultRouter()
router.register("areas", views.AreaViewSet, basename="area")
router.register("area-imports", views.AreaImportViewSet, basename="area-import")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
urlpatterns = router.urls
