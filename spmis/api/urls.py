"""The one place API routes are mounted: /api/v1/<app>/<kebab-plural>/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from spmis.api.auth_views import TokenView

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("v1/geo/", include("geo.api.urls")),
    path("v1/registry/", include("registry.api.urls")),
    path("v1/layers/", include("layers.api.urls")),
    path("v1/response/", include("response.api.urls")),
    path("v1/programs/", include("programs.api.urls")),
    path("v1/distribution/", include("distribution.api.urls")),
    path("v1/grievances/", include("grievances.api.urls")),
    path("v1/interop/", include("interop.api.urls")),
    path("v1/accountability/", include("accountability.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
