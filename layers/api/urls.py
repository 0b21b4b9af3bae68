from django.urls import path, re_path

from layers.api import ogc, views
from spmis.api.routers import Router

router = Router()
router.register("vector-layers", views.VectorLayerViewSet, basename="vector-layer")
router.register("raster-layers", views.RasterLayerViewSet, basename="raster-layer")
router.register("layer-imports", views.LayerImportViewSet, basename="layer-import")
router.register("cap-alerts", views.CapAlertViewSet, basename="cap-alert")

TILE = r"tiles/(?P<z>[0-9]+)/(?P<x>[0-9]+)/(?P<y>[0-9]+)"

urlpatterns = [
    re_path(rf"^vector-layers/(?P<pk>[0-9]+)/{TILE}\.mvt$", views.VectorLayerTileView.as_view(), name="vector-tile"),
    re_path(rf"^raster-layers/(?P<pk>[0-9]+)/{TILE}\.png$", views.RasterTileView.as_view(), name="raster-tile"),
    path("ogc/", ogc.LandingView.as_view(), name="layers-ogc-landing"),
    re_path(r"^ogc/conformance/?$", ogc.ConformanceView.as_view(), name="layers-ogc-conformance"),
    re_path(r"^ogc/collections/?$", ogc.CollectionsView.as_view(), name="layers-ogc-collections"),
    re_path(
        r"^ogc/collections/(?P<collection_id>[^/]+)/?$", ogc.CollectionView.as_view(), name="layers-ogc-collection"
    ),
    re_path(r"^ogc/collections/(?P<collection_id>[^/]+)/items/?$", ogc.ItemsView.as_view(), name="layers-ogc-items"),
    re_path(
        r"^ogc/collections/(?P<collection_id>[^/]+)/items/(?P<fid>[0-9]+)/?$",
        ogc.ItemView.as_view(),
        name="layers-ogc-item",
    ),
    *router.urls,
]
