"""The role table is coherent: every control a page offers a role works for that role through the API, and every
control it hides is one the API refuses."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from layers.models import VectorLayer
from spmis.core.roles import ROLES
from tests.factories import HouseholdFactory, UserFactory
from tests.frontend.test_pages import browser_for
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"
RING = [[90.2, 23.2], [90.4, 23.2], [90.4, 23.4], [90.2, 23.4], [90.2, 23.2]]
ROLE_KEYS = [role for role in ROLES if role != "administrator"]


def page_can(html: str) -> dict:
    return json.loads(re.search(r'<script id="page-can" type="application/json">(.*?)</script>', html).group(1))


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_the_map_offers_exactly_what_the_api_allows(role, client_for, two_districts):
    incident = IncidentFactory(hazard_type="flood")
    HazardZoneFactory(incident=incident)
    HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    user = UserFactory(roles=[role])
    html = browser_for(user).get(f"/map/?incident={incident.pk}").content.decode()
    api = client_for(user)

    classes = api.get(f"{BASE}/incidents/{incident.pk}/classes/")
    assert classes.status_code == 200, classes.content  # the map colours zones by class for every role
    table = {
        "classes": [{k: c[k] for k in ("key", "name", "rank", "displacement_rate", "color")} for c in classes.json()]
    }
    saved = api.put(f"{BASE}/incidents/{incident.pk}/classes/", table, format="json")
    assert ('id="classes-form"' in html) == (saved.status_code == 200), (role, saved.status_code, saved.content)

    drawn = api.post(
        f"{BASE}/hazard-zones/",
        {"incident": incident.pk, "geometry": {"type": "Polygon", "coordinates": [RING]}, "hazard_class": "high"},
        format="json",
    )
    assert ('id="draw-class"' in html) == (drawn.status_code == 201), (role, drawn.status_code)

    with TestCase.captureOnCommitCallbacks(execute=True):
        run = api.post(f"{BASE}/exposure-runs/", {"incident": incident.pk}, format="json")
    assert ('id="run-analysis"' in html) == (run.status_code == 202), (role, run.status_code)

    created = api.post(
        f"{BASE}/incidents/", {"name": "New", "hazard_type": "flood", "started_on": "2026-07-01"}, format="json"
    )
    assert ('id="new-incident"' in html) == (created.status_code == 201), (role, created.status_code)


def test_analysts_edit_classes_draw_zones_and_run_analyses():
    """The defect that started this table: the class editor was shown to analysts and its save refused, and they
    could draw zones without a Run button."""
    incident = IncidentFactory()
    html = browser_for(UserFactory(roles=["gis_analyst"])).get(f"/map/?incident={incident.pk}").content.decode()
    assert 'id="classes-form"' in html and 'id="draw-class"' in html and 'id="run-analysis"' in html


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_the_layers_page_offers_style_editing_only_where_saving_works(role, client_for):
    layer = VectorLayer.objects.create(name="Roads", geometry_type="line")
    user = UserFactory(roles=[role])
    response = browser_for(user).get("/layers/")
    if response.status_code == 403:
        assert not user.has_perm("layers.view_vectorlayer")
        return
    offered = page_can(response.content.decode())["vector"]
    saved = client_for(user).patch(
        f"/api/v1/layers/vector-layers/{layer.pk}/", {"style": {"color": "#123456"}}, format="json"
    )
    assert offered == (saved.status_code == 200), (role, saved.status_code)
