from response.api import views
from spmis.api.routers import Router

router = Router()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("hazard-classes", views.HazardClassViewSet, basename="hazard-class")
router.register("hazard-zones", views.HazardZoneViewSet, basename="hazard-zone")
router.register("exposure-runs", views.ExposureRunViewSet, basename="exposure-run")
router.register("needs-profiles", views.NeedsProfileViewSet, basename="needs-profile")
urlpatterns = router.urls
