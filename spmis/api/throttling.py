"""Login attempts are throttled per client address and user name (SPMIS_LOGIN_RATE, default 10/min), on the API
token endpoint and on the login page alike, so passwords cannot be guessed at speed. The count lives in Django's
cache: configure a shared cache (CACHES) when several server processes run, or each keeps its own count."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

TOO_MANY_LOGINS = "Too many sign-in attempts; wait a minute and try again."


class LoginRateThrottle(SimpleRateThrottle):
    scope = "login"

    def get_cache_key(self, request, view) -> str:
        data = getattr(request, "data", None)
        if data is None or not hasattr(data, "get"):
            data = request.POST
        username = data.get("username") if hasattr(data, "get") else None
        username = username.strip().lower() if isinstance(username, str) else ""
        return self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}|{username}"}
