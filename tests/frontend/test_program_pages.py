"""The program officer's pages: each opens for the roles that may see programs (with its controls following the
role's permissions), is refused in words for the others, and never prints personal data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from frontend import views
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory
from tests.frontend.test_pages import assert_local_assets, browser_for
from tests.programs.conftest import flood, response_bytes  # noqa: F401  (flood: the analysed flood fixture of the programs tests)
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db
STATIC = Path(views.__file__).resolve().parent / "static" / "frontend"

# Each page, the element its script fills and the script it loads. The pages start from an id: their data comes
# from /api/v1/programs/ in the browser, so the ids need no rows here.
PAGES = [
    ("/programs/", "program-rows", "programs.js"),
    ("/programs/rules/", "preview-households", "rules.js"),
    ("/programs/7/", "program-fields", "programs.js"),
    ("/programs/7/rule/", "rule-errors", "rules.js"),
    ("/programs/simulations/3/", "scenario-rows", "programs.js"),
    ("/programs/cycles/5/", "cycle-state", "programs.js"),
]


def page_config(html: str) -> dict:
    return json.loads(re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html).group(1))


@pytest.mark.parametrize(("path", "element", "script"), PAGES)
def test_each_program_page_opens_for_the_officer(path, element, script):
    officer = UserFactory(roles=["program_officer"])
    response = browser_for(officer).get(path)
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assert f'id="{element}"' in html
    assert f"/static/frontend/{script}" in assert_local_assets(html)
    config = page_config(html)
    assert config["username"] == officer.username
    assert config["currency"] == "BDT"  # the configured country's, the new program form's default


@pytest.mark.parametrize(("path", "element", "script"), PAGES)
def test_each_program_page_is_refused_to_logistics_in_words(path, element, script):
    response = browser_for(UserFactory(roles=["logistics_officer"])).get(path)
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="reason"' in html and "your role may not see" in html
    assert f'id="{element}"' not in html


@pytest.mark.parametrize("path", [p for p, _, _ in PAGES])
def test_program_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_top_bar_links_programs_for_roles_that_see_them():
    assert 'href="/programs/"' in browser_for(UserFactory(roles=["program_officer"])).get("/layers/").content.decode()
    logistics = browser_for(UserFactory(roles=["logistics_officer"])).get("/layers/").content.decode()
    assert 'href="/programs/"' not in logistics


def test_new_program_form_defaults_to_the_country_currency_for_those_who_may_add():
    html = browser_for(UserFactory(roles=["program_officer"])).get("/programs/").content.decode()
    assert 'id="new-program"' in html
    assert re.search(r'id="np-currency"[^>]*value="BDT"', html)
    assert re.search(r'<label for="np-name">Name</label>', html)  # every field has its label
    auditor = browser_for(UserFactory(roles=["auditor"])).get("/programs/").content.decode()
    assert 'id="program-rows"' in auditor and 'id="new-program"' not in auditor


def test_cycle_workflow_buttons_and_four_eyes_words_only_for_those_who_may_change_cycles():
    officer = browser_for(UserFactory(roles=["program_officer"])).get("/programs/cycles/5/").content.decode()
    for button in ("cycle-generate", "cycle-submit", "cycle-approve", "cycle-cancel"):
        assert f'id="{button}"' in officer
    assert "You submitted this cycle: another officer must approve it" in officer
    assert "/api/v1/programs/cycles/5/entitlements/export/?file=csv" in officer
    assert "/api/v1/programs/cycles/5/entitlements/export/?file=xlsx" in officer
    auditor = browser_for(UserFactory(roles=["auditor"])).get("/programs/cycles/5/").content.decode()
    assert 'id="cycle-state"' in auditor and 'id="cycle-approve"' not in auditor


def test_rule_editor_offers_finished_analyses_and_the_program_rule_save():
    from response.models import ExposureRun

    incident = IncidentFactory(name="River flood")
    run = ExposureRun.objects.create(incident=incident, status=ExposureRun.Status.SUCCEEDED)
    ExposureRun.objects.create(incident=incident, status=ExposureRun.Status.FAILED)
    officer = UserFactory(roles=["program_officer"])
    html = browser_for(officer).get(f"/programs/7/rule/?run={run.pk}").content.decode()
    options = re.findall(r'<option value="(\d+)"', html.split('id="exposure-run"', 1)[1].split("</select>", 1)[0])
    assert options == [str(run.pk)]  # the failed analysis is not offered
    config = page_config(html)
    assert config["run"] == run.pk and config["program"] == 7
    assert 'id="save-rule"' in html and 'id="add-scenario"' in html
    standalone = browser_for(officer).get("/programs/rules/").content.decode()
    assert 'id="save-rule"' not in standalone and page_config(standalone)["program"] is None
    auditor = browser_for(UserFactory(roles=["auditor"])).get("/programs/7/rule/").content.decode()
    assert 'id="rule"' in auditor and 'id="save-rule"' not in auditor and 'id="add-scenario"' not in auditor


def test_map_offers_the_top_up_only_to_roles_that_may_create_cycles():
    incident = IncidentFactory()
    officer = browser_for(UserFactory(roles=["program_officer"])).get(f"/map/?incident={incident.pk}")
    html = officer.content.decode()
    assert 'id="topup-form"' in html and "/static/frontend/topup.js" in html
    assert re.search(r'<label for="topup-start">Starts on</label>', html)
    coordinator = browser_for(UserFactory(roles=["emergency_coordinator"])).get(f"/map/?incident={incident.pk}")
    assert 'id="topup-form"' not in coordinator.content.decode() and "topup.js" not in coordinator.content.decode()


@pytest.mark.parametrize("role", ["auditor", "program_officer"])
def test_program_pages_print_no_personal_data(role):
    """The pages print no names, birth dates or places: what they show of households (registrant ids, counts per
    area) comes from the API, which leaves personal fields out for roles without registry.view_personal_data."""
    household = HouseholdFactory()
    head = IndividualFactory(given_name="Rahimaunique", family_name="Begumunique")
    MembershipFactory(household=household, individual=head)
    user = UserFactory(roles=[role])
    assert user.has_perm("programs.view_program")
    incident = IncidentFactory()
    for path in [p for p, _, _ in PAGES] + [f"/map/?incident={incident.pk}"]:
        html = browser_for(user).get(path).content.decode()
        assert "Rahimaunique" not in html and "Begumunique" not in html, path
        assert str(head.birth_date) not in html, path
        assert f"{household.location.x:.4f}" not in html, path


@pytest.mark.parametrize(
    ("script", "source"),
    [
        ("programs.js", "program"),
        ("rules.js", "program"),
        ("topup.js", "topup"),
    ],
)
def test_every_word_a_script_prints_is_translated_by_its_view(script, source):
    """The scripts print only words the view sends (T.<key>): a key missing from the view would print undefined."""
    used = set(re.findall(r"\bT\.(\w+)", (STATIC / script).read_text()))
    assert used
    if source == "program":
        known = set(views._program_text())
    else:
        incident = IncidentFactory()
        html = browser_for(UserFactory(roles=["program_officer"])).get(f"/map/?incident={incident.pk}").content
        known = set(json.loads(re.search(rb'<script id="topup-text" type="application/json">(.*?)</script>', html)[1]))
    assert used <= known, used - known


def test_the_cycle_page_and_the_data_it_reads_name_nobody_for_the_auditor(flood, client_for):  # noqa: F811
    """Through the real API: the cycle page's HTML, the JSON its script reads and the exports it links to name no
    head of household for the auditor (no registry.view_personal_data); the officer's export does, so the check
    would see a name that leaked."""
    from django.test import TestCase

    from programs.models import ProgramMembership
    from registry.models import Membership

    officer = UserFactory(roles=["program_officer"])
    api = client_for(officer)
    program = api.post(
        "/api/v1/programs/programs/", {"name": "Safety net", "currency": "BDT", "budget": "1000000"}, format="json"
    ).json()
    households = flood["high"] + flood["moderate"]
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program_id=program["id"], household=h, state="enrolled") for h in households
    )
    body = {
        "exposure_run": flood["run"].pk,
        "program": program["id"],
        "vertical": True,
        "amounts_by_class": {"high": "8000.00", "moderate": "5000.00"},
        "starts_on": "2026-07-10",
        "ends_on": "2026-08-10",
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        launched = api.post("/api/v1/programs/topups/", body, format="json")
    assert launched.status_code == 201, launched.content
    cycle_id = launched.json()["cycles"][0]["id"]
    names = [
        f"{given} {family}"
        for given, family in Membership.objects.filter(household__in=households, role="head").values_list(
            "individual__given_name", "individual__family_name"
        )
    ]
    assert len(names) == len(households)

    def everything_shown(user) -> dict[str, str]:
        browser = browser_for(user)
        html = browser.get(f"/programs/cycles/{cycle_id}/").content.decode()
        shown = {"page": html}
        for url in [
            f"/api/v1/programs/cycles/{cycle_id}/",
            f"/api/v1/programs/cycles/{cycle_id}/entitlements/?page=1",
            f"/api/v1/programs/programs/{program['id']}/",
        ]:
            response = browser.get(url)
            assert response.status_code == 200, (url, response.content)
            shown[url] = response.content.decode()
        for link in re.findall(r'href="(/api/v1/programs/cycles/\d+/entitlements/export/\?file=\w+)"', html):
            response = browser.get(link)
            assert response.status_code == 200, link
            shown[link] = response_bytes(response).decode("utf-8", "replace")
        assert any("file=csv" in key for key in shown) and any("file=xlsx" in key for key in shown)
        return shown

    auditor_sees = everything_shown(UserFactory(roles=["auditor"]))
    assert json.loads(auditor_sees[f"/api/v1/programs/cycles/{cycle_id}/entitlements/?page=1"])["count"] == 8
    for where, text in auditor_sees.items():
        assert not [name for name in names if name in text], where
    officer_csv = everything_shown(officer)[f"/api/v1/programs/cycles/{cycle_id}/entitlements/export/?file=csv"]
    assert all(name in officer_csv for name in names)


def test_the_program_pages_speak_french():
    client = browser_for(UserFactory(roles=["program_officer"]))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/programs/"})
    html = client.get("/programs/cycles/5/").content.decode()
    assert '<html lang="fr">' in html and ">Programmes<" in html  # the top bar
    assert "Vous avez soumis ce cycle : un autre agent doit l" in html  # the four-eyes words
    config = page_config(html)
    assert config["text"]["position"] == "ligne %(line)s, colonne %(column)s : %(message)s"  # a script's words
