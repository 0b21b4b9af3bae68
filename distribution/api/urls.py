from distribution.api import views
from distribution.plans.api import views as plan_views
from spmis.api.routers import Router

router = Router()
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("distribution-points", views.DistributionPointViewSet, basename="distribution-point")
router.register("facility-exposures", views.FacilityExposureViewSet, basename="facility-exposure")
router.register("plans", plan_views.DistributionPlanViewSet, basename="distribution-plan")
urlpatterns = router.urls
