"""The accountability pages: the dashboard shows the selectors' figures, the audit log filters and links to a
record's history, the partners' page shows suppressed cells as –; each page is refused to roles without it, and
the nav links only to what the role may open."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from spmis.core.audit import audit_context
from tests.factories import UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def signed_in(*roles, **extra) -> Client:
    client = Client()
    client.force_login(UserFactory(roles=list(roles), **extra))
    return client


def cell(html: str, area: str, field: str) -> str:
    row = re.search(rf'<tr data-area="{area}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'data-field="{field}">([^<]*)<', row).group(1).strip()


def test_the_dashboard_page_shows_the_figures_by_area(world):
    client = signed_in("program_officer")
    response = client.get(reverse("accountability-dashboard"), {"program": world.program.pk, "level": 1})
    assert response.status_code == 200
    html = response.content.decode()
    assert cell(html, "C-W", "affected") == "5" and cell(html, "C-W", "paid") == "1"
    assert cell(html, "C-W", "redeemed") == "1 / 3" and cell(html, "C-E", "pending") == "1"
    assert 'id="total-affected">7<' in html and 'id="export-areas"' in html
    assert 'href="/accountability/"' in html  # the nav link
    bad = client.get(reverse("accountability-dashboard"), {"program": world.program.pk, "level": 9})
    assert bad.status_code == 400 and "level:" in bad.content.decode()


def test_the_audit_page_filters_pages_and_opens_a_history(two_districts):
    with audit_context(actor="user:amina", source="api"):
        warehouses = [WarehouseFactory(code=f"WH-{i}") for i in range(3)]
    client = signed_in("auditor")
    page = client.get(reverse("accountability-audit"), {"actor": "amina", "table": "distribution_warehouse"})
    html = page.content.decode()
    assert page.status_code == 200 and html.count("data-event=") == 3
    assert f'href="/accountability/audit/distribution_warehouse/{warehouses[0].pk}/"' in html
    assert "actor=amina" in re.search(r'id="audit-export" href="([^"]+)"', html).group(1)
    history = client.get(reverse("accountability-record", args=["distribution_warehouse", warehouses[0].pk]))
    assert history.status_code == 200 and 'data-action="insert"' in history.content.decode()
    assert "WH-0" in history.content.decode()
    assert client.get(reverse("accountability-audit"), {"row_id": "x"}).status_code == 400
    assert signed_in("program_officer").get(reverse("accountability-audit")).status_code == 403


def test_the_partner_page_shows_published_counts_and_nothing_else(world, settings):
    settings.SPMIS = {**settings.SPMIS, "PUBLISH_MIN_CELL": 2}
    client = signed_in("partner")
    html = client.get(reverse("accountability-indicators"), {"level": 1}).content.decode()
    row = re.search(r'<tr data-area="C-E">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["2", "–", "0", "0", "0"]  # the last: grievances received
    assert 'href="/accountability/indicators/"' in html and 'href="/accountability/"' not in html
    assert client.get(reverse("accountability-dashboard")).status_code == 403
    assert client.get(reverse("accountability-audit")).status_code == 403
