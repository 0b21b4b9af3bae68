"""API tokens that expire: a token older than SPMIS["TOKEN_TTL_HOURS"] (env SPMIS_TOKEN_TTL_HOURS) is refused with
401 and a message saying what to do; POST /api/v1/auth/token/ then issues a fresh one."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

EXPIRED_MESSAGE = "The token has expired; obtain a new one with POST /api/v1/auth/token/."


def token_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.SPMIS["TOKEN_TTL_HOURS"])


def token_expired(token: Token, *, now: datetime.datetime | None = None) -> bool:
    return token.created < (now or timezone.now()) - token_lifetime()


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(EXPIRED_MESSAGE)
        return user, token
