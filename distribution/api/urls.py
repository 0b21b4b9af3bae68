from distribution.api import views
from distribution.plans.api import views as plan_views
from spmis.api.routers import Router

router = Router()
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("distribution-points", views.DistributionPointViewSet, basename="distribution-point")
router.register("facility-exposures", views.FacilityExposureViewSet, basename="facility-exposure")
router.register("plans", plan_views.DistributionPlanViewSet, basename="distribution-plan")
urlpatterns = router.urls

from distribution.redemption.api import views as redemption_views  # noqa: E402

router.register("redemptions", redemption_views.RedemptionViewSet, basename="redemption")
router.register("redemption-devices", redemption_views.DeviceViewSet, basename="redemption-device")
router.register("redemption-batches", redemption_views.RedemptionBatchViewSet, basename="redemption-batch")
router.register("redemption-conflicts", redemption_views.RedemptionConflictViewSet, basename="redemption-conflict")
urlpatterns = router.urls
from distribution.roads import api as roads_api  # noqa: E402

router.register("road-networks", roads_api.RoadNetworkViewSet, basename="road-network")
router.register("road-network-loads", roads_api.RoadNetworkLoadViewSet, basename="road-network-load")
router.register("vehicles", roads_api.VehicleViewSet, basename="vehicle")
router.register("route-runs", roads_api.RouteRunViewSet, basename="route-run")
urlpatterns = router.urls
