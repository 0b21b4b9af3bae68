"""The logistics officer's pages: stock, movements, plans, a plan on the map, and a point's redemption screen. Each
opens for the roles that may see warehouses with the actions their permissions allow, is refused in words to the
others, serves its scripts (and the QR decoder) locally, and the redemption screen's service worker is served with
a scope that covers the points' pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from frontend import views
from tests.factories import AreaFactory, DistributionPointFactory, UserFactory, square
from tests.frontend.test_pages import assert_local_assets, browser_for
from tests.frontend.test_program_pages import page_config

pytestmark = pytest.mark.django_db
STATIC = Path(views.__file__).resolve().parent / "static"
PAGES = [
    ("/distribution/", "stock-rows", "distribution/stock.js"),
    ("/distribution/movements/", "document-rows", "distribution/movements.js"),
    ("/distribution/plans/", "plan-rows", "distribution/plans.js"),
    ("/distribution/plans/4/", "shortfall-rows", "distribution/plan.js"),
]


@pytest.mark.parametrize(("path", "element", "script"), PAGES)
def test_each_distribution_page_opens_for_the_logistics_officer(path, element, script):
    officer = UserFactory(roles=["logistics_officer"])
    response = browser_for(officer).get(path)
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assert f'id="{element}"' in html
    assert f"/static/frontend/{script}" in assert_local_assets(html)
    config = page_config(html)
    assert config["username"] == officer.username
    assert config["can"]["viewStock"] is True


@pytest.mark.parametrize(("path", "element", "script"), PAGES)
def test_distribution_pages_need_sign_in(client, path, element, script):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_role_without_warehouses_is_refused_in_words():
    # Finance officers see payments, not warehouses (distribution.roles grants them nothing).
    response = browser_for(UserFactory(roles=["finance_officer"])).get("/distribution/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="reason"' in html and "warehouses and their stock" in html
    assert 'id="stock-rows"' not in html


def test_the_top_bar_links_the_distribution_pages_for_the_roles_that_see_them():
    assert (
        'href="/distribution/"'
        in browser_for(UserFactory(roles=["logistics_officer"])).get("/layers/").content.decode()
    )
    assert (
        'href="/distribution/"'
        not in browser_for(UserFactory(roles=["finance_officer"])).get("/programs/").content.decode()
    )


def test_an_auditor_sees_stock_but_is_offered_no_movement_forms():
    html = browser_for(UserFactory(roles=["auditor"])).get("/distribution/movements/").content.decode()
    config = page_config(html)
    assert config["can"]["receive"] is False and config["can"]["dispatch"] is False
    assert 'id="receipt-form"' not in html and 'id="dispatch-form"' not in html
    assert 'id="no-movements"' in html


def test_the_redemption_screen_serves_the_scanner_locally():
    point = DistributionPointFactory()
    response = browser_for(UserFactory(roles=["logistics_officer"])).get(f"/distribution/points/{point.pk}/redeem/")
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assets = assert_local_assets(html)
    assert "/static/vendor/jsqr/jsQR.js" in assets and "/static/frontend/distribution/redeem.js" in assets
    config = page_config(html)
    assert config["point"] == {"id": point.pk, "code": point.code, "name": point.name}
    for element in ("scan-start", "scan-video", "code-input", "redeem-form", "log-rows", "sync-button"):
        assert f'id="{element}"' in html
    # The vendored decoder is the npm package's build, with its licence beside it.
    assert "jsQR" in (STATIC / "vendor" / "jsqr" / "jsQR.js").read_text()[:2000]
    assert "Apache License" in (STATIC / "vendor" / "jsqr" / "LICENSE").read_text()


def test_a_point_outside_the_users_areas_is_not_found():
    west = AreaFactory(code="W1", geom=square(90.0, 23.0, 0.5))
    east = AreaFactory(code="E1", geom=square(91.0, 23.0, 0.5))
    point = DistributionPointFactory(location=Point(91.2, 23.2, srid=4326))
    point.refresh_from_db()
    assert point.area == east  # the area follows the location (database trigger)
    local = browser_for(UserFactory(roles=["logistics_officer"], areas=[west]))
    response = local.get(f"/distribution/points/{point.pk}/redeem/")
    assert response.status_code == 404
    assert "No such distribution point in your areas." in response.content.decode()
    assert (
        browser_for(UserFactory(roles=["logistics_officer"], areas=[east]))
        .get(f"/distribution/points/{point.pk}/redeem/")
        .status_code
        == 200
    )


def test_the_service_worker_is_served_for_the_distribution_scope(client):
    response = client.get("/distribution/sw.js")  # no sign-in: it holds no data, and a signed-out device updates it
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/distribution/"
    body = response.content.decode()
    assert 'addEventListener("fetch"' in body
    # It never keeps API answers: entitlements and stock come from the server or not at all.
    assert 'url.pathname.startsWith("/api/")' in body


def test_the_distribution_pages_speak_french():
    client = browser_for(UserFactory(roles=["logistics_officer"]))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/distribution/"})
    html = client.get("/distribution/").content.decode()
    assert '<html lang="fr">' in html
    assert "Alertes" in html
    text = page_config(html)["text"]
    assert text["onHand"] == "En stock"
    assert text["queued"].startswith("Hors ligne")
