"""The payment pages: the cycle page's batches, a batch, a household's payment history. Each opens for the roles that
may see payment batches with the actions their permissions allow, is refused in words to the others, speaks French,
and shows no names or account numbers (the pages and the API they read give none)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from frontend import views
from programs.payments.models import PaymentBatch
from programs.payments.services import batch_prepare
from programs.payments.services.ledger import record_events
from registry.models import Membership
from tests.factories import UserFactory
from tests.frontend.test_pages import assert_local_assets, browser_for
from tests.frontend.test_program_pages import page_config
from tests.programs.conftest import flood  # noqa: F401  (the analysed flood fixture of the programs tests)
from tests.programs.payments_setup import account_number, approved_cycle_with_accounts, on_commit

pytestmark = pytest.mark.django_db
STATIC = Path(views.__file__).resolve().parent / "static" / "frontend"
PAGES = [
    ("/programs/payments/batches/7/", "batch-status"),
    ("/programs/payments/households/3/", "history"),
]


@pytest.mark.parametrize("role", ["program_officer", "finance_officer", "auditor"])
@pytest.mark.parametrize(("path", "element"), PAGES)
def test_each_payment_page_opens_for_the_roles_that_see_payments(path, element, role):
    response = browser_for(UserFactory(roles=[role])).get(path)
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assert f'id="{element}"' in html
    assert "/static/frontend/payments.js" in assert_local_assets(html)
    assert page_config(html)["can"]["viewBatches"] is True


@pytest.mark.parametrize(("path", "element"), PAGES)
def test_each_payment_page_is_refused_in_words_to_roles_without_payments(path, element):
    response = browser_for(UserFactory(roles=["emergency_coordinator"])).get(path)
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="reason"' in html and "your role may not see" in html
    assert f'id="{element}"' not in html


@pytest.mark.parametrize("path", [p for p, _ in PAGES])
def test_payment_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# What each role is offered on a batch page: the same permissions the API checks for each action.
ROLE_CONTROLS = {
    "program_officer": {"batch-cancel", "failed-map"},
    "finance_officer": {"batch-release", "batch-send", "batch-cancel", "report-form", "no-failed-map"},
    "auditor": {"no-failed-map"},
}
CONTROLS = {"batch-release", "batch-send", "batch-cancel", "report-form", "failed-map", "no-failed-map"}


@pytest.mark.parametrize(("role", "shown"), ROLE_CONTROLS.items())
def test_batch_page_offers_each_role_its_actions_only(role, shown):
    html = browser_for(UserFactory(roles=[role])).get("/programs/payments/batches/7/").content.decode()
    present = {control for control in CONTROLS if f'id="{control}"' in html}
    assert present == shown
    can = page_config(html)["can"]
    assert can["downloadFile"] is (role == "finance_officer")
    assert can["failedMap"] is (role == "program_officer")  # exact locations: personal data
    # Leaflet (served locally) only where there is a map to draw.
    assert ("/static/leaflet/leaflet.js" in html) is (role == "program_officer")
    # The four-eyes words are on the page, for the script to show to the preparer.
    assert "You prepared this batch: another person must release it." in html


@pytest.mark.parametrize(
    ("role", "prepare"), [("program_officer", True), ("finance_officer", True), ("auditor", False)]
)
def test_cycle_page_lists_batches_and_offers_the_prepare_form_to_preparers(role, prepare):
    html = browser_for(UserFactory(roles=[role])).get("/programs/cycles/5/").content.decode()
    assert 'id="payments-section"' in html and 'id="batch-rows"' in html
    assert "/static/frontend/payments.js" in html and "/static/frontend/programs.js" in html
    assert ('id="prepare-form"' in html) is prepare
    if prepare:
        assert re.search(r'<label for="prepare-fsp">Provider</label>', html)
        assert re.search(r'<label for="prepare-date">Execution date</label>', html)


def test_cycle_page_has_no_payments_section_for_roles_without_batches():
    html = browser_for(UserFactory(roles=["emergency_coordinator"])).get("/programs/cycles/5/").content.decode()
    assert 'id="cycle-state"' in html
    assert 'id="payments-section"' not in html and "payments.js" not in html


def test_every_word_payments_js_prints_is_translated_by_its_view():
    used = set(re.findall(r"\bT\.(\w+)", (STATIC / "payments.js").read_text()))
    assert {"ownBatch", "heldReasons", "paymentStates"} <= used
    known = set(views._program_text()) | set(views._payment_text())
    assert used <= known, used - known


def test_the_payment_pages_speak_french():
    client = browser_for(UserFactory(roles=["finance_officer"]))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/programs/"})
    html = client.get("/programs/payments/batches/7/").content.decode()
    assert '<html lang="fr">' in html
    assert "Vous avez préparé ce lot : une autre personne doit le libérer." in html
    assert ">Libérer<" in html and "Rapports de statut" in html
    text = page_config(html)["text"]
    assert text["ownBatch"] == "Vous avez préparé ce lot : une autre personne doit le libérer."
    assert text["paymentStates"]["failed"] == "échoué"
    assert text["heldReasons"]["no_account"] == "aucun compte chez ce prestataire"
    cycle = client.get("/programs/cycles/5/").content.decode()
    assert "Préparer un lot" in cycle
    history = client.get("/programs/payments/households/3/").content.decode()
    assert "Paiements du ménage 3" in history


@pytest.fixture
def world(flood):  # noqa: F811
    return approved_cycle_with_accounts(flood)


def prepared_batch(world) -> PaymentBatch:
    run = on_commit(batch_prepare, cycle=world.cycle, fsp=world.fsp, user=world.officer)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return PaymentBatch.objects.get(pk=run.batch_id)


@pytest.mark.parametrize("role", ["auditor", "finance_officer"])
def test_the_payment_pages_and_the_data_they_read_name_nobody(world, role):
    """Through the real API: the pages' HTML and every JSON answer their scripts read hold no head of household's
    name, no account holder and no account number; and the failed-payment map (exact locations) is refused to
    roles without personal data, in words."""
    batch = prepared_batch(world)
    household = world.households[0]
    names = [
        f"{given} {family}"
        for given, family in Membership.objects.filter(household__in=world.households, role="head").values_list(
            "individual__given_name", "individual__family_name"
        )
    ]
    holders = [account.holder_name for account in world.accounts.values()]
    numbers = [account_number(index) for index in range(len(world.households))]
    assert len(names) == len(holders) == len(numbers) == 8
    browser = browser_for(UserFactory(roles=[role]))
    shown = {}
    for url in [
        f"/programs/cycles/{world.cycle.pk}/",
        f"/programs/payments/batches/{batch.pk}/",
        f"/programs/payments/households/{household.pk}/",
        f"/api/v1/programs/payment-batches/?cycle={world.cycle.pk}&page_size=200",
        f"/api/v1/programs/payment-batches/{batch.pk}/",
        f"/api/v1/programs/payment-batches/{batch.pk}/files/",
        f"/api/v1/programs/payment-batches/{batch.pk}/areas/",
        f"/api/v1/programs/payments/?batch={batch.pk}&page=1",
        f"/api/v1/programs/payments/?household={household.pk}&page_size=1000",
        f"/api/v1/programs/payment-batch-runs/?batch={batch.pk}",
    ]:
        response = browser.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        shown[url] = response.content.decode()
    payments = json.loads(shown[f"/api/v1/programs/payments/?batch={batch.pk}&page=1"])
    assert payments["count"] == 8  # the check reads the payments themselves, not an empty page
    first = payments["results"][0]["id"]
    shown["events"] = browser.get(f"/api/v1/programs/payments/{first}/events/").content.decode()
    for where, text in shown.items():
        leaked = [value for value in names + holders + numbers if value in text]
        assert not leaked, (where, leaked)
        assert f"{household.location.x:.4f}" not in text, where
    refused = browser.get(f"/api/v1/programs/payment-batches/{batch.pk}/failed-map/")
    assert refused.status_code == 403 and "personal data" in refused.json()["detail"]


def test_failed_map_gives_the_officer_points_with_reasons_for_failed_and_returned_payments(world):
    batch = prepared_batch(world)
    failed_household, returned_household = world.households[0], world.households[1]
    record_events(
        batch=batch,
        status="failed",
        where="household_id = %s",
        params=[failed_household.pk],
        reason_code="AC04",
        reason="Account closed",
    )
    record_events(batch=batch, status="sent", where="household_id = %s", params=[returned_household.pk])
    record_events(batch=batch, status="paid", where="household_id = %s", params=[returned_household.pk])
    record_events(
        batch=batch,
        status="returned",
        where="household_id = %s",
        params=[returned_household.pk],
        reason_code="MD07",
        reason="Beneficiary deceased",
    )
    answer = browser_for(world.officer).get(f"/api/v1/programs/payment-batches/{batch.pk}/failed-map/")
    assert answer.status_code == 200, answer.content
    collection = answer.json()
    assert collection["type"] == "FeatureCollection" and collection["count"] == 2
    by_household = {f["properties"]["household"]: f for f in collection["features"]}
    assert set(by_household) == {failed_household.pk, returned_household.pk}
    failed = by_household[failed_household.pk]
    assert failed["properties"]["status"] == "failed" and failed["properties"]["reason"] == "Account closed"
    assert failed["properties"]["reason_code"] == "AC04" and failed["properties"]["amount"] in ("8000.000", "8000.00")
    assert failed["geometry"]["coordinates"] == pytest.approx(
        [failed_household.location.x, failed_household.location.y], abs=1e-6
    )
    assert by_household[returned_household.pk]["properties"]["status"] == "returned"
    # The district table agrees: one failed, one returned, six pending.
    areas = browser_for(world.officer).get(f"/api/v1/programs/payment-batches/{batch.pk}/areas/").json()
    assert [(a["failed"]["count"], a["returned"]["count"], a["pending"]["count"]) for a in areas] == [(1, 1, 6)]


def test_failed_map_counts_only_households_in_the_users_areas(world, two_districts):
    _, west, east = two_districts
    world.cycle.program.areas.set([west, east])  # a program over both districts: both officers see the batch
    batch = prepared_batch(world)
    record_events(batch=batch, status="failed", reason_code="AC04", reason="Account closed")
    url = f"/api/v1/programs/payment-batches/{batch.pk}/failed-map/"
    east_officer = browser_for(UserFactory(roles=["program_officer"], areas=[east]))
    answer = east_officer.get(url)
    assert answer.status_code == 200, answer.content  # the batch is theirs; its households are all in the west
    assert answer.json()["features"] == [] and answer.json()["count"] == 0
    west_officer = browser_for(UserFactory(roles=["program_officer"], areas=[west]))
    assert west_officer.get(url).json()["count"] == 8
