"""Public documents every verifier fetches and caches: the issuer's JWKS (and, later, status lists and OpenID4VCI
metadata). Nothing personal is served here, so they need no account; they are cacheable so an offline device can
keep them."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from programs.credentials import keys

# Verifiers refresh keys at least daily; a rotation publishes the new key before it signs (docs/credentials.md).
JWKS_MAX_AGE_S = 3600


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_S}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
