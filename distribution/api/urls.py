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

# Stock (distribution.stock)
from django.urls import path  # noqa: E402

from distribution.stock.api import views as stock_views  # noqa: E402

router.register("stock/items", stock_views.StockItemViewSet, basename="stock-item")
router.register("stock/lots", stock_views.StockLotViewSet, basename="stock-lot")
router.register("stock/balances", stock_views.StockBalanceViewSet, basename="stock-balance")
router.register("stock/movements", stock_views.StockMovementViewSet, basename="stock-movement")
router.register("stock/documents", stock_views.StockDocumentViewSet, basename="stock-document")
urlpatterns = [
    *router.urls,
    path("stock/receipts/", stock_views.ReceiptView.as_view(), name="stock-receipts"),
    path("stock/transfers/", stock_views.TransferView.as_view(), name="stock-transfers"),
    path("stock/dispatches/", stock_views.DispatchView.as_view(), name="stock-dispatches"),
    path("stock/losses/", stock_views.LossView.as_view(), name="stock-losses"),
    path("stock/counts/", stock_views.CountView.as_view(), name="stock-counts"),
    path("stock/alerts/", stock_views.AlertView.as_view(), name="stock-alerts"),
]
