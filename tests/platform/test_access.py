"""Access to the API: every view declares what it needs (or is refused), sign-in is throttled, tokens expire, and
national data stays national."""

import datetime

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from response.models import NeedsProfile
from spmis.api.auth_views import TokenView
from spmis.api.permissions import RolePermission
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
# The only API views that do not go through RolePermission, each for a reason: signing in, and the schema and its
# viewers (drf-spectacular's SERVE_PERMISSIONS: signed-in users).
OPEN_BY_DESIGN = {TokenView, SpectacularAPIView, SpectacularSwaggerView, SpectacularRedocView}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def api_views(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            yield route, view


def test_every_api_view_declares_a_queryset_or_required_permissions():
    undeclared, unexpected_open = [], set()
    routes = list(api_views())
    assert len({view for _, view in routes}) > 30  # the walk reaches every app's views
    for route, view in routes:
        assert view is not None and issubclass(view, APIView), f"{route} is not a DRF view"
        if RolePermission not in view.permission_classes:
            if view not in OPEN_BY_DESIGN:
                unexpected_open.add(view)
            continue
        if getattr(view, "queryset", None) is None and getattr(view, "required_permissions", None) is None:
            undeclared.append(route)
    assert not undeclared, f"views with neither a queryset nor required_permissions: {undeclared}"
    assert not unexpected_open, f"views outside RolePermission: {unexpected_open}"


def test_a_view_that_declares_nothing_is_refused():
    class Bare(APIView):
        pass

    request = APIRequestFactory().get("/")
    force_authenticate(request, user=UserFactory(roles=["administrator"]))
    view = Bare()
    assert RolePermission().has_permission(view.initialize_request(request), view) is False


def test_the_app_roots_need_only_a_login(client_for, api_client):
    assert client_for(roles=[]).get("/api/v1/registry/").status_code == 200
    assert api_client.get("/api/v1/registry/").status_code == 401


def test_token_endpoint_is_throttled_per_address_and_name():
    UserFactory(username="amina")
    client = APIClient()
    for _ in range(10):
        assert client.post("/api/v1/auth/token/", {"username": "amina", "password": "wrong"}).status_code == 400
    refused = client.post("/api/v1/auth/token/", {"username": "amina", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.json()["detail"]
    # A made-up X-Forwarded-For does not reset the count.
    spoofed = client.post(
        "/api/v1/auth/token/", {"username": "amina", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert spoofed.status_code == 429
    # Another name from the same address is counted apart.
    UserFactory(username="rahim")
    assert client.post("/api/v1/auth/token/", {"username": "rahim", "password": PASSWORD}).status_code == 200


def test_login_page_is_throttled_without_checking_the_password():
    UserFactory(username="amina")
    client = Client()
    for _ in range(10):
        assert client.post("/login/", {"username": "amina", "password": "wrong"}).status_code == 200
    refused = client.post("/login/", {"username": "amina", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_tokens_expire_and_a_new_one_is_issued(settings):
    user = UserFactory(username="amina", roles=["emergency_coordinator"])
    token = Token.objects.create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - datetime.timedelta(hours=25))
    settings.SPMIS = {**settings.SPMIS, "TOKEN_TTL_HOURS": 24}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    refused = client.get("/api/v1/response/incidents/")
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    fresh = APIClient().post("/api/v1/auth/token/", {"username": "amina", "password": PASSWORD}).json()["token"]
    assert fresh != token.key
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert client.get("/api/v1/response/incidents/").status_code == 200


def test_needs_profiles_are_national(client_for, two_districts):
    profile = NeedsProfile.objects.create(
        name="Sphere", items=[{"item": "water", "unit": "L", "per_person_per_day": 15}]
    )
    district = client_for(roles=["emergency_coordinator"], areas=[two_districts[1]])
    assert district.get(f"/api/v1/response/needs-profiles/{profile.pk}/").status_code == 200
    refused = district.patch(f"/api/v1/response/needs-profiles/{profile.pk}/", {"days": 3}, format="json")
    assert refused.status_code == 403 and "national" in refused.json()["detail"]
    assert (
        district.post("/api/v1/response/needs-profiles/", {"name": "Mine", "items": profile.items}).status_code == 403
    )
    assert district.delete(f"/api/v1/response/needs-profiles/{profile.pk}/").status_code == 403
    national = client_for(roles=["emergency_coordinator"])
    assert national.patch(f"/api/v1/response/needs-profiles/{profile.pk}/", {"days": 3}).status_code == 200
    assert NeedsProfile.objects.get(pk=profile.pk).days == 3
