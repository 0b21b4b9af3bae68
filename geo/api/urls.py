from django.urls import re_path

from geo.api import tiles, views
from spmis.api.routers import Router

router = Router()
router.register("areas", views.AreaViewSet, basename="area")
router.register("area-imports", views.AreaImportViewSet, basename="area-import")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
urlpatterns = [
    re_path(
        r"^areas/tiles/(?P<z>[0-9]+)/(?P<x>[0-9]+)/(?P<y>[0-9]+)\.mvt$", tiles.AreaTileView.as_view(), name="area-tile"
    ),
    *router.urls,
]
