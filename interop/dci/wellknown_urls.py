"""/.well-known/dci/ routes, mounted once in spmis/urls.py."""

from django.urls import path

from interop.dci import api

urlpatterns = [path("jwks.json", api.jwks, name="dci-jwks")]
