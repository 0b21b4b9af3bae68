"""Refused and missing pages keep the top bar and say why; the admin names models in proper plurals."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

from tests.factories import UserFactory
from tests.frontend.test_pages import browser_for
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_a_refused_page_keeps_the_top_bar_and_says_why():
    logistics = browser_for(UserFactory(roles=["logistics_officer"]))
    incident = IncidentFactory()
    response = logistics.get(f"/incidents/{incident.pk}/runs/1/affected/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'role="banner"' in html and "Sign out" in html and "Logistics officer" in html
    assert re.search(r'<p id="reason">The affected list names households', html)

    nobody = browser_for(UserFactory())
    html = nobody.get("/map/").content.decode()
    assert 'role="banner"' in html
    assert re.search(r'<p id="reason">This page shows incidents, and your role may not see them.</p>', html)


def test_a_missing_page_keeps_the_top_bar_and_says_what_is_missing(two_districts):
    _, west, east = two_districts
    elsewhere = IncidentFactory(name="East flood")
    elsewhere.areas.set([east])
    local = browser_for(UserFactory(roles=["emergency_coordinator"], areas=[west]))
    response = local.get(f"/map/?incident={elsewhere.pk}")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'role="banner"' in html and "Areas: West" in html
    assert '<p id="reason">No such incident in your areas.</p>' in html
    elsewhere.areas.set([west])
    html = local.get(f"/incidents/{elsewhere.pk}/runs/999/affected/").content.decode()
    assert '<p id="reason">This incident has no such analysis.</p>' in html

    response = local.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'role="banner"' in html and "There is no page at this address." in html and "tried" not in html


def test_signed_out_visitors_get_a_sign_in_link_and_api_paths_stay_json(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'role="banner"' in html and 'href="/login/"' in html and "Sign out" not in html
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_admin_plurals_are_words(admin_client):
    for model in apps.get_models():
        if model._meta.app_label in {"geo", "registry", "layers", "response", "programs", "distribution"}:
            plural = str(model._meta.verbose_name_plural)
            assert not re.search(r"(ss|[^aeiou]ys)$", plural), f"{model._meta.label}: {plural!r}"
    html = admin_client.get("/admin/").content.decode()
    assert "Hazard classes" in html and "Hazard classs" not in html


def test_the_reason_is_translated():
    nobody = browser_for(UserFactory())
    nobody.cookies["django_language"] = "fr"
    html = nobody.get("/map/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Cette page montre des incidents, et votre rôle ne permet pas de les voir." in html
    assert "Accès refusé" in html
