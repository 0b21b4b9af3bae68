"""/oid4vci/ routes (token, nonce, credential), mounted once in spmis/urls.py."""

from django.urls import path

from programs.credentials.api import oid4vci

urlpatterns = [
    path("token", oid4vci.token, name="oid4vci-token"),
    path("nonce", oid4vci.nonce, name="oid4vci-nonce"),
    path("credential", oid4vci.credential, name="oid4vci-credential"),
]
