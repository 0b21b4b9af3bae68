"""The pages: sign-in required, roles and area scope respected, every asset served by this server."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.contrib.gis.geos import Point
from django.test import Client, TestCase

from response.models import ExposureRun
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"


class AssetParser(HTMLParser):
    """Every URL the browser would fetch by itself: script src, link href, img src."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


def assert_local_assets(html: str) -> list[str]:
    parser = AssetParser()
    parser.feed(html)
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), f"asset not served locally: {url}"
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html.split("<body", 1)[0]), "remote URL in <head>"
    return parser.urls


def browser_for(user) -> Client:
    user.save()  # the factory sets the password in memory only; the session hash must match the stored one
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/map/", "/layers/", "/incidents/1/dashboard/"])
def test_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_is_local_and_signs_in(client):
    user = UserFactory(username="ana", roles=["emergency_coordinator"])
    user.set_password("correct horse battery staple")
    user.save()
    response = client.get("/login/")
    assert response.status_code == 200
    assert_local_assets(response.content.decode())
    response = client.post("/login/", {"username": "ana", "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert client.get("/").url == "/map/"
    wrong = client.post("/login/", {"username": "ana", "password": "nope"})
    assert b'role="alert"' in wrong.content


def test_map_page_top_bar_and_assets(two_districts):
    coordinator = UserFactory(roles=["emergency_coordinator"])
    incident = IncidentFactory(name="Monsoon flood")
    response = browser_for(coordinator).get(f"/map/?incident={incident.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    urls = assert_local_assets(html)
    assert "/static/leaflet/leaflet.js" in urls and "/static/leaflet/draw/leaflet.draw.js" in urls
    assert any("Leaflet.VectorGrid" in url for url in urls)
    assert "Emergency coordinator" in html and "All areas" in html
    assert f'<option value="{incident.pk}" selected>' in html
    assert 'id="run-analysis"' in html and 'id="new-incident"' in html
    assert 'action="/i18n/setlang/"' in html
    assert '<main id="main"' in html and 'role="banner"' in html


def test_roles_decide_what_the_map_offers():
    officer = UserFactory(roles=["program_officer"])
    incident = IncidentFactory()
    html = browser_for(officer).get(f"/map/?incident={incident.pk}").content.decode()
    assert 'id="run-analysis"' not in html and 'id="new-incident"' not in html and 'id="draw-class"' not in html
    nobody = browser_for(UserFactory())
    assert nobody.get("/map/").status_code == 403
    assert nobody.get("/layers/").status_code == 403
    assert nobody.get("/").status_code == 200  # a page that says there is nothing for this role


def test_area_scope_limits_incidents_and_dashboards(two_districts):
    _, west, east = two_districts
    in_west = IncidentFactory(name="West flood")
    in_west.areas.set([west])
    in_east = IncidentFactory(name="East flood")
    in_east.areas.set([east])
    local = browser_for(UserFactory(roles=["emergency_coordinator"], areas=[west]))
    html = local.get("/map/").content.decode()
    assert "West flood" in html and "East flood" not in html
    assert "Areas: West" in html
    assert local.get(f"/map/?incident={in_east.pk}").status_code == 404
    assert local.get(f"/incidents/{in_east.pk}/dashboard/").status_code == 404
    assert local.get(f"/incidents/{in_west.pk}/dashboard/").status_code == 200


def test_dashboard_shows_the_analysis(client_for, two_districts):
    api = client_for(roles=["emergency_coordinator"])
    inside = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    MembershipFactory(household=inside, individual=IndividualFactory(birth_date=datetime.date(2024, 1, 1)))
    HouseholdFactory(location=Point(90.31, 23.31, srid=4326))
    HouseholdFactory(location=Point(91.5, 23.5, srid=4326))  # outside the zone
    incident = api.post(
        f"{BASE}/incidents/", {"name": "Flood", "hazard_type": "flood", "started_on": "2026-07-01"}, format="json"
    ).json()
    ring = [[90.2, 23.2], [90.4, 23.2], [90.4, 23.4], [90.2, 23.4], [90.2, 23.2]]
    zone = {"incident": incident["id"], "geometry": {"type": "Polygon", "coordinates": [ring]}, "hazard_class": "high"}
    assert api.post(f"{BASE}/hazard-zones/", zone, format="json").status_code == 201
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert api.post(f"{BASE}/exposure-runs/", {"incident": incident["id"]}, format="json").status_code == 202
    run = ExposureRun.objects.get()
    assert run.status == "succeeded", run.error

    response = browser_for(api.user).get(f"/incidents/{incident['id']}/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_local_assets(html)
    assert re.search(r'id="dash-households">2<', html)
    assert "Children under 5" in html and f"/exposure-runs/{run.pk}/export/?as=csv" in html
    assert re.search(r'data-count="children_under_5">1<', html)  # born 2024, incident in 2026
    assert re.search(r'data-count="individuals">1<', html)

    affected = f"/incidents/{incident['id']}/runs/{run.pk}/affected/"
    html = browser_for(api.user).get(affected).content.decode()
    assert_local_assets(html)
    assert re.search(r'id="affected-count">2 households<', html)
    assert inside.registrant_id in html and "inside" in html.lower()
    html = browser_for(api.user).get(affected + "?hazard_class=low").content.decode()
    assert re.search(r'id="affected-count">0 households<', html)

    logistics = browser_for(UserFactory(roles=["logistics_officer"]))
    html = logistics.get(f"/incidents/{incident['id']}/dashboard/").content.decode()
    assert "k-anonymous" in html and "export/?as=csv" not in html
    assert logistics.get(affected).status_code == 403


def test_analyst_page_is_local_and_offers_upload_to_analysts_only():
    analyst = browser_for(UserFactory(roles=["gis_analyst"]))
    html = analyst.get("/layers/").content.decode()
    assert_local_assets(html)
    assert 'id="dropzone"' in html and 'id="style-form"' in html
    officer = browser_for(UserFactory(roles=["program_officer"]))
    html = officer.get("/layers/").content.decode()
    assert 'id="dropzone"' not in html


def test_language_switch_translates_the_page():
    user = UserFactory(roles=["emergency_coordinator"])
    client = browser_for(user)
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/map/"})
    assert response.status_code == 302
    html = client.get("/map/").content.decode()
    assert '<html lang="fr">' in html
    assert "Se déconnecter" in html and "M\\u00e9nages" in html  # template text, and JavaScript strings as JSON
    assert "Coordinateur des urgences" in html and ">Inondation<" in html  # role and hazard type labels


def test_household_density_counts_districts_in_scope(two_districts):
    from tests.factories import AreaFactory, square

    _, west, east = two_districts
    # Districts are level 2 here: one under each level-1 area, so lineage[2] names the district.
    west_district = AreaFactory(code="C-W-1", name="West one", parent=west, geom=square(90.0, 23.0, 1.0))
    east_district = AreaFactory(code="C-E-1", name="East one", parent=east, geom=square(91.0, 23.0, 1.0))
    for x in (90.2, 90.4, 90.6):
        HouseholdFactory(location=Point(x, 23.5, srid=4326))
    HouseholdFactory(location=Point(91.5, 23.5, srid=4326))

    national = browser_for(UserFactory(roles=["emergency_coordinator"])).get("/map/household-density.json").json()
    assert national["households"] == {west_district.code: 3, east_district.code: 1}
    local = browser_for(UserFactory(roles=["emergency_coordinator"], areas=[east]))
    assert local.get("/map/household-density.json").json()["households"] == {east_district.code: 1}
    assert browser_for(UserFactory()).get("/map/household-density.json").status_code == 403


class FormParser(HTMLParser):
    """Form controls and what names them: <label for>, a wrapping <label>, or aria-label."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append({**attrs, "_wrapped": self.in_label > 0, "_tag": tag})

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1


@pytest.mark.parametrize("page", ["login", "map", "layers"])
def test_every_form_control_has_a_name(page):
    user = UserFactory(roles=["emergency_coordinator", "gis_analyst"])
    incident = IncidentFactory()
    client = Client() if page == "login" else browser_for(user)
    url = {"login": "/login/", "map": f"/map/?incident={incident.pk}", "layers": "/layers/"}[page]
    parser = FormParser()
    parser.feed(client.get(url).content.decode())
    assert parser.controls
    unnamed = [
        c
        for c in parser.controls
        if not (c["_wrapped"] or c.get("aria-label") or (c.get("id") and c["id"] in parser.label_for))
    ]
    assert unnamed == []
