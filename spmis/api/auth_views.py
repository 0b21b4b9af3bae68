"""The API token endpoint, throttled (spmis.api.throttling) like the login page; it replaces an expired token
instead of handing it back."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from spmis.api.authentication import token_expired
from spmis.api.throttling import TOO_MANY_LOGINS, LoginRateThrottle


class TokenView(ObtainAuthToken):
    """POST username and password; returns {"token": …}. A token expired by SPMIS_TOKEN_TTL_HOURS is replaced."""

    throttle_classes = [LoginRateThrottle]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        if token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key})

    def throttled(self, request, wait):
        raise Throttled(wait, detail=TOO_MANY_LOGINS)
