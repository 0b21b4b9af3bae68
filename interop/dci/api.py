"""The DCI endpoints (paths as in the SPDCI social registry API): POST a signed envelope, get a signed answer
(sync) or an acknowledgement and later a callback (async). The signature is the authentication: the sender's
service user becomes the request's user, and RolePermission asks it for the DCI search permission."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from interop.dci import keys, services
from interop.dci.envelope import DCIError
from interop.dci.search import now_iso
from interop.dci.senders import envelope_open
from spmis.api.permissions import RolePermission

JWKS_MAX_AGE_S = 3600


class DCISignatureAuthentication(BaseAuthentication):
    """Verifies the envelope before anything else runs; the request's user is the sender's service user and
    request.auth the verified envelope. Refusals raise DCIError (nothing has been written)."""

    def authenticate(self, request):
        view = request.parser_context["view"]
        env = envelope_open(request._request.body, action=view.dci_action)
        return env.sender.service_user, env

    def authenticate_header(self, request) -> str:
        return 'Signature namespace="dci"'


def error_body(code: str, message: str, *, asynchronous: bool, reason: str = "", action: str = "search") -> dict:
    """A refusal in the spec's shapes: always the HTTP layer's {errors: [{code, message}]}; on an async endpoint
    also the acknowledgement with ack_status ERR, on a sync one the answer's header with status rjct (the sync
    answer's schema has no acknowledgement)."""
    body: dict = {"errors": [{"code": code, "message": message}]}
    if asynchronous:
        body.update(services.ack(None, status="ERR", error={"code": code, "message": message}))
    else:
        header = {
            "version": "1.0.0",
            "message_id": uuid.uuid4().hex,
            "message_ts": now_iso(),
            "action": services.REPLY_ACTIONS[action],
            "status": "rjct",
            "status_reason_message": message,
            "sender_id": keys.receiver_id(),
            "is_msg_encrypted": False,
        }
        if reason:
            header["status_reason_code"] = reason
        body["header"] = header
    return body


class DCIView(APIView):
    authentication_classes = [DCISignatureAuthentication]
    permission_classes = [RolePermission]
    required_permissions = ["interop.search_dcisender"]
    parser_classes: list = []
    schema = None  # documented by the SPDCI OpenAPI files, not by ours (docs/interoperability.md)
    dci_action = "search"
    asynchronous = False

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc = DCIError("err.signature.missing", "The request carries no signature.", 401)
        elif isinstance(exc, exceptions.PermissionDenied):
            exc = DCIError("err.request.forbidden", "The sender's service user may not search this registry.", 403)
        elif isinstance(exc, exceptions.MethodNotAllowed):
            exc = DCIError("err.request.bad", "Only POST is accepted here.", 405)
        if not isinstance(exc, DCIError):
            return super().handle_exception(exc)
        body = error_body(
            exc.code, exc.message, asynchronous=self.asynchronous, reason=exc.reason, action=self.dci_action
        )
        response = Response(body, status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Signature namespace="dci"'
        return response

    def post(self, request, *args, **kwargs):
        use_case = services.dci_search if self.dci_action == "search" else services.dci_txn_status
        row, answer = use_case(env=request.auth, asynchronous=self.asynchronous)
        if self.asynchronous:
            return Response(services.ack(row), status=202)
        return Response(answer, status=200)


class SyncSearch(DCIView):
    dci_action = "search"


class AsyncSearch(DCIView):
    dci_action = "search"
    asynchronous = True


class SyncTxnStatus(DCIView):
    dci_action = "txn-status"


class AsyncTxnStatus(DCIView):
    dci_action = "txn-status"
    asynchronous = True


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """Our public DCI keys, for senders verifying our answers and callbacks."""
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_S}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
