from rest_framework.routers import DefaultRouter

from distribution.api import views

router = DefaultRouter()
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("distribution-points", views.DistributionPointViewSet, basename="distribution-point")
urlpatterns = router.urls
