"""Public documents every verifier fetches and caches: the issuer's JWKS (and, later, status lists and OpenID4VCI
metadata). Nothing personal is served here, so they need no account; they are cacheable so an offline device can
keep them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from programs.credentials import keys, status
from programs.credentials.models import StatusList

# Verifiers refresh keys at least daily; a rotation publishes the new key before it signs (docs/credentials.md).
JWKS_MAX_AGE_S = 3600


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_S}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def status_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The status list credential: JSON by default, a signed vc+jwt with ?format=jwt (or Accept: application/vc+jwt).
    Cacheable for MAX_AGE_S with an ETag, so verifiers revalidate cheaply."""
    try:
        row = StatusList.objects.get(pk=pk)
    except StatusList.DoesNotExist:
        return JsonResponse({"detail": "No such status list."}, status=404)
    body = status.status_list_credential(row, request.build_absolute_uri(request.path))
    tag = status.etag(body)
    if request.headers.get("If-None-Match") == tag:
        response = HttpResponse(status=304)
    elif request.GET.get("format") == "jwt" or "application/vc+jwt" in request.headers.get("Accept", ""):
        response = HttpResponse(status.signed_status_list(body), content_type="application/vc+jwt")
    else:
        response = JsonResponse(body)
    response["ETag"] = tag
    response["Cache-Control"] = f"public, max-age={status.MAX_AGE_S}"
    response["Access-Control-Allow-Origin"] = "*"
    response["Vary"] = "Accept"
    return response
