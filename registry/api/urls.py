from django.urls import re_path

from registry.api import views
from spmis.api.routers import Router

router = Router()
router.register("households", views.HouseholdViewSet, basename="household")
router.register("individuals", views.IndividualViewSet, basename="individual")
router.register("change-requests", views.ChangeRequestViewSet, basename="change-request")
router.register("imports", views.RegistryImportViewSet, basename="registry-import")
router.register("import-mappings", views.ImportMappingViewSet, basename="import-mapping")
router.register("id-types", views.IdTypeViewSet, basename="id-type")
router.register("custom-fields", views.CustomFieldViewSet, basename="custom-field")
router.register("custom-filters", views.CustomFilterViewSet, basename="custom-filter")
router.register("dedup-runs", views.DedupRunViewSet, basename="dedup-run")
router.register("duplicates", views.DuplicateCandidateViewSet, basename="duplicate")
urlpatterns = [
    # Before the router's households/<pk>/ routes.
    re_path(
        r"^households/tiles/(?P<z>[0-9]+)/(?P<x>[0-9]+)/(?P<y>[0-9]+)\.mvt$",
        views.HouseholdTileView.as_view(),
        name="household-tile",
    ),
    *router.urls,
]
