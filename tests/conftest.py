from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from rest_framework.test import APIClient

from tests.factories import AreaFactory, UserFactory, square


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(db):
    """client_for(user) or client_for(roles=[...], areas=[...]): an API client authenticated by token."""
    from rest_framework.authtoken.models import Token

    def make(user=None, *, roles=(), areas=None):
        user = user or UserFactory(roles=list(roles), areas=areas)
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.user = user
        return client

    return make


@pytest.fixture
def admin_user_client(client_for):
    return client_for(UserFactory(username="root", is_superuser=True, is_staff=True))


@pytest.fixture
def two_districts(db):
    """A country with two side-by-side districts: west (90–91°E) and east (91–92°E), 23–24°N."""
    country = AreaFactory(code="C", name="Country", geom=MultiPolygon(Polygon.from_bbox((90.0, 23.0, 92.0, 24.0))))
    west = AreaFactory(code="C-W", name="West", parent=country, geom=square(90.0, 23.0, 1.0))
    east = AreaFactory(code="C-E", name="East", parent=country, geom=square(91.0, 23.0, 1.0))
    return country, west, east


@pytest.fixture(scope="session", autouse=True)
def _end_stray_test_sessions(django_db_setup, django_db_blocker):
    """The live server answers browsers on keep-alive threads that can still hold a database session when the suite
    ends; the test database could then not be dropped. End such sessions just before it is."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
