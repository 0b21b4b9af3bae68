"""OpenID4VCI endpoints a wallet calls (no account, no CSRF: the pre-authorized code and the access token are the
authorisation), mounted at /oid4vci/ by spmis/urls.py; their metadata is under /.well-known/."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from programs.credentials import oid4vci


def _public(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "dpop") else ""


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    try:
        body = oid4vci.token_exchange_counted(
            grant_type=request.POST.get("grant_type", ""),
            code=request.POST.get("pre-authorized_code", ""),
            tx_code=request.POST.get("tx_code") or None,
        )
    except oid4vci.OAuthError as exc:
        return _public(exc.body(), exc.status)
    return _public(body)


@csrf_exempt
@require_POST
def nonce(request: HttpRequest) -> JsonResponse:
    return _public(oid4vci.nonce_new(access_token=_bearer(request)))


@csrf_exempt
@require_POST
def credential(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return _public({"error": "invalid_credential_request", "error_description": "The body must be JSON."}, 400)
    try:
        return _public(oid4vci.credential_issue(access_token=_bearer(request), body=body))
    except oid4vci.OAuthError as exc:
        response = _public(exc.body(), exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        return response


@require_GET
def issuer_metadata(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(oid4vci.issuer_metadata())
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def authorization_server_metadata(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(oid4vci.authorization_server_metadata())
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def jwt_vc_issuer_metadata(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(oid4vci.jwt_vc_issuer_metadata())
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
