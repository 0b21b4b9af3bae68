"""/.well-known/ routes, mounted once in spmis/urls.py."""

from django.urls import path

from programs.credentials.api import oid4vci, wellknown

urlpatterns = [
    path("jwks.json", wellknown.jwks, name="credential-jwks"),
    path("status-lists/<int:pk>", wellknown.status_list, name="credential-status-list"),
    path("openid-credential-issuer", oid4vci.issuer_metadata, name="openid-credential-issuer"),
    path("oauth-authorization-server", oid4vci.authorization_server_metadata, name="oauth-authorization-server"),
    path("jwt-vc-issuer", oid4vci.jwt_vc_issuer_metadata, name="jwt-vc-issuer"),
]
