from distribution.api import views
from spmis.api.routers import Router

router = Router()
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("distribution-points", views.DistributionPointViewSet, basename="distribution-point")
router.register("facility-exposures", views.FacilityExposureViewSet, basename="facility-exposure")
urlpatterns = router.urls
from distribution.roads import api as roads_api  # noqa: E402

router.register("road-networks", roads_api.RoadNetworkViewSet, basename="road-network")
router.register("road-network-loads", roads_api.RoadNetworkLoadViewSet, basename="road-network-load")
router.register("vehicles", roads_api.VehicleViewSet, basename="vehicle")
router.register("route-runs", roads_api.RouteRunViewSet, basename="route-run")
urlpatterns = router.urls
