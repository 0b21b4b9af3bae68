"""The one place API routes are mounted: /api/v1/<app>/<kebab-plural>/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("v1/auth/token/", obtain_auth_token, name="api-token"),
    path("v1/geo/", include("geo.api.urls")),
    path("v1/registry/", include("registry.api.urls")),
    path("v1/layers/", include("layers.api.urls")),
    path("v1/response/", include("response.api.urls")),
    path("v1/programs/", include("programs.api.urls")),
    path("v1/distribution/", include("distribution.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
