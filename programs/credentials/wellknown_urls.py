"""/.well-known/ routes, mounted once in spmis/urls.py."""

from django.urls import path

from programs.credentials.api import wellknown

urlpatterns = [
    path("jwks.json", wellknown.jwks, name="credential-jwks"),
    path("status-lists/<int:pk>", wellknown.status_list, name="credential-status-list"),
]
