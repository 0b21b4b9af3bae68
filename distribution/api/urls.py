from distribution.api import views
from spmis.api.routers import Router

router = Router()
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("distribution-points", views.DistributionPointViewSet, basename="distribution-point")
router.register("facility-exposures", views.FacilityExposureViewSet, basename="facility-exposure")
urlpatterns = router.urls
