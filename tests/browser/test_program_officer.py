"""The program officer's main path in a real browser: write an eligibility rule and read its live count, enrol by
it, launch a top-up from an analysis on the map, submit the draft cycle, and have a second officer approve it (the
first may not); every count and amount the pages show equals the API's."""

from __future__ import annotations

import os

import pytest
from django.test import Client

from programs.models import Program
from response.models import ExposureRun
from response.services import exposure_run_start
from tests.browser.conftest import screenshot
from tests.factories import square
from tests.response.factories import HazardZoneFactory, IncidentFactory, default_class

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
P = "/api/v1/programs"
RULE = "members.count >= 3"


def api_client(username: str) -> Client:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def shown_amount(value: str) -> str:
    """An amount as the pages print it: grouped whole units, the API's decimals as they are."""
    whole, _, fraction = value.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


@pytest.fixture
def analysed_flood(db):
    """An incident over a part of the demo registry, with a high and a moderate zone, analysed."""
    incident = IncidentFactory(name="Officer flood", hazard_type="flood")
    HazardZoneFactory(incident=incident, geom=square(89.5, 23.0, 1.5), hazard_class=default_class("flood", "high"))
    HazardZoneFactory(incident=incident, geom=square(91.0, 24.0, 1.0), hazard_class=default_class("flood", "moderate"))
    run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == ExposureRun.Status.SUCCEEDED, run.error
    return incident, run


def test_officer_rule_preview_top_up_and_four_eyes_approval(sign_in, live_server, analysed_flood):
    incident, run = analysed_flood
    officer_api = api_client("officer")
    page = sign_in("officer")

    # A program, from the list page's form.
    page.goto(f"{live_server.url}/programs/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#np-currency") == "BDT"
    page.fill("#np-name", "Browser safety net")
    page.fill("#np-budget", "50000000")
    page.click("#new-program button[type=submit]")
    page.wait_for_url("**/programs/*/")
    program_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # The rule editor: an unknown name is placed at its line and column, a valid rule is counted live.
    page.goto(f"{live_server.url}/programs/{program_id}/rule/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#rule", "members.cout >= 3")
    error = page.wait_for_selector(".rule-error .error").inner_text()
    assert error.startswith("line 1, column ") and "members.cout" in error, error
    assert page.get_attribute("#rule", "aria-invalid") == "true"
    page.fill("#rule", RULE)
    page.wait_for_function("rule => document.body.dataset.previewed === rule", arg=RULE)
    preview = officer_api.post(f"{P}/rules/preview/", {"rule": RULE, "program": program_id}, "application/json")
    assert preview.status_code == 200, preview.content
    assert page.get_attribute("#preview-households", "data-count") == str(preview.json()["households"])
    assert page.get_attribute("#preview-people", "data-count") == str(preview.json()["people"])
    assert preview.json()["households"] > 0
    assert int(page.get_attribute("#preview-map", "data-points")) == len(preview.json()["map"]["features"])
    # Why the first household of the sample is selected: the values the rule read, as the API gives them.
    first = preview.json()["sample"][0]["household"]
    page.click(f"#sample [data-explain='{first}']")
    explained = page.wait_for_selector("#sample .explained")
    why = officer_api.post(f"{P}/rules/explain/", {"rule": RULE, "household": first}, "application/json").json()
    assert explained.get_attribute("data-selected") == "true" and why["selected"] is True
    assert all(f"{name} = {value}" in explained.inner_text() for name, value in why["values"].items())
    screenshot(page, "officer-rule")
    page.click("#save-rule")
    page.wait_for_selector("#save-ok:not(:empty)")
    assert officer_api.get(f"{P}/programs/{program_id}/").json()["eligibility_rule"] == RULE

    # Enrol by the rule, with the job's progress, then the counts are the API's.
    page.goto(f"{live_server.url}/programs/{program_id}/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#enrol-button")
    page.wait_for_function("() => document.getElementById('enrol-bar').value === 100", timeout=120_000)
    assert page.inner_text("#enrol-error") == ""
    enrolled = officer_api.get(f"{P}/programs/{program_id}/").json()["counts"]["enrolled"]
    assert enrolled > 0
    page.wait_for_function("n => document.getElementById('count-enrolled').textContent === n", arg=f"{enrolled:,}")

    # A top-up of the program's members from the analysis on the map: preview, then a draft cycle.
    page.goto(f"{live_server.url}/map/?incident={incident.pk}")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#topup-card summary")
    page.check("#topup-vertical")
    page.select_option("#topup-program", str(program_id))
    page.fill("#topup-amount-high", "3000.00")
    page.fill("#topup-amount-moderate", "2000.00")
    # The preview with a new caseload too (affected households not enrolled, in a new emergency program).
    page.check("#topup-horizontal")
    page.fill("#topup-new-name", "Browser flood caseload")
    page.click("#topup-preview")
    page.wait_for_selector("[data-households=horizontal]")
    body = {
        "exposure_run": run.pk,
        "program": program_id,
        "vertical": True,
        "horizontal": True,
        "new_program_name": "Browser flood caseload",
        "amounts_by_class": {"high": "3000.00", "moderate": "2000.00"},
        "starts_on": page.input_value("#topup-start"),
        "ends_on": page.input_value("#topup-end"),
        "preview_only": True,
    }
    both = officer_api.post(f"{P}/topups/", body, "application/json")
    assert both.status_code == 200, both.content
    horizontal = both.json()["preview"]["horizontal"]
    assert horizontal["households"] > 0
    assert page.inner_text("[data-households=horizontal]") == f"{horizontal['households']:,}"
    assert page.inner_text("[data-amount=horizontal]") == shown_amount(horizontal["amount"])
    assert not Program.objects.filter(name="Browser flood caseload").exists()  # a preview stores nothing

    # The top-up alone.
    page.uncheck("#topup-horizontal")
    page.click("#topup-preview")
    page.wait_for_selector("#topup-preview-table:not(:has([data-households=horizontal]))")
    expected = officer_api.post(
        f"{P}/topups/", {**body, "horizontal": False, "new_program_name": ""}, "application/json"
    )
    assert expected.status_code == 200, expected.content
    vertical = expected.json()["preview"]["vertical"]
    assert vertical["households"] > 0 and vertical == both.json()["preview"]["vertical"]
    assert page.inner_text("[data-households=vertical]") == f"{vertical['households']:,}"
    assert page.inner_text("[data-amount=vertical]") == shown_amount(vertical["amount"])
    screenshot(page, "officer-topup-preview")
    page.click("#topup-create")
    link = page.wait_for_selector("#topup-cycles a")
    cycle_id = int(link.get_attribute("data-cycle"))
    link.click()
    page.wait_for_url(f"**/programs/cycles/{cycle_id}/")
    page.wait_for_selector("body[data-ready=true]")

    # The officer submits; the page tells them another officer must approve, and keeps Approve out of reach.
    page.click("#cycle-submit")
    page.wait_for_selector("#cycle-state[data-state=to_approve]")
    assert page.is_visible("#own-submission")
    assert "You submitted this cycle: another officer must approve it" in page.inner_text("#own-submission")
    assert page.is_disabled("#cycle-approve")
    refused = officer_api.post(f"{P}/cycles/{cycle_id}/approve/", {}, "application/json")
    assert refused.status_code == 400, refused.content  # the API says the same, in words
    screenshot(page, "officer-cycle-submitted")

    # A second officer (the demo's approver) approves; the figures on the page are the API's.
    other = sign_in("approver")
    other.goto(f"{live_server.url}/programs/cycles/{cycle_id}/")
    other.wait_for_selector("body[data-ready=true]")
    assert other.is_hidden("#own-submission") and other.is_enabled("#cycle-approve")
    other.click("#cycle-approve")
    other.wait_for_selector("#cycle-state[data-state=approved]")
    cycle = api_client("approver").get(f"{P}/cycles/{cycle_id}/").json()
    assert cycle["state"] == "approved" and cycle["approved_by"] == "approver" and cycle["submitted_by"] == "officer"
    assert cycle["planned_count"] == vertical["households"]
    assert cycle["planned_amount"].rstrip("0").rstrip(".") == vertical["amount"].rstrip("0").rstrip(".")
    assert other.inner_text("#cycle-count") == f"{cycle['planned_count']:,}"
    assert other.inner_text("#cycle-people") == f"{cycle['planned_people']:,}"
    assert other.inner_text("#cycle-amount") == f"{shown_amount(cycle['planned_amount'])} {cycle['currency']}"
    entitlements = api_client("approver").get(f"{P}/cycles/{cycle_id}/entitlements/").json()
    assert other.get_attribute("#entitlement-count", "data-count") == str(entitlements["count"])
    assert entitlements["count"] == cycle["planned_count"]
    screenshot(other, "officer-cycle-approved")
    assert page.errors == [] and other.errors == []


def test_officer_compares_two_scenarios_and_makes_one_a_program(sign_in, live_server, analysed_flood):
    _, run = analysed_flood
    page = sign_in("officer")
    page.goto(f"{live_server.url}/programs/rules/?run={run.pk}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#exposure-run") == str(run.pk)
    for name, rule, amount in [
        ("Large families", "members.count >= 5", "4000"),
        ("Affected", "exposure.affected", "6000"),
    ]:
        page.fill("#rule", rule)
        page.wait_for_function("rule => document.body.dataset.previewed === rule", arg=rule)
        page.fill("#sc-name", name)
        page.fill("#sc-amount", amount)
        page.click("#add-scenario")
    assert page.locator("#scenario-list li").count() == 2
    page.fill("#sim-name", "Browser comparison")
    page.click("#run-simulation")
    page.wait_for_url("**/programs/simulations/*/")
    page.wait_for_selector("body[data-ready=true]")
    simulation_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    simulation = api_client("officer").get(f"{P}/simulations/{simulation_id}/").json()
    assert [s["name"] for s in simulation["scenarios"]] == ["Large families", "Affected"]
    for scenario in simulation["scenarios"]:
        results, position = scenario["results"], scenario["position"]
        cell = f"[data-row={{}}] td[data-position='{position}']"
        assert page.inner_text(cell.format("households")) == f"{results['households']:,}"
        assert page.inner_text(cell.format("cost")) == f"{shown_amount(results['cost'])} BDT"
        assert page.inner_text(cell.format("affected_households")) == f"{results['affected_households']:,}"
    # Everyone the "Affected" scenario selects is affected: no inclusion error, full coverage.
    affected = simulation["scenarios"][1]["results"]
    assert affected["inclusion_count"] == 0 and affected["coverage_rate"] == 1.0
    assert page.inner_text("[data-row=coverage_rate] td[data-position='2']") == "100.0 %"
    screenshot(page, "officer-simulation")

    page.click("[data-promote='1']")
    assert page.input_value("#promote-position") == "1"
    page.fill("#promote-name", "Large family support")
    page.select_option("#promote-kind", "regular")
    page.click("#promote-form button[type=submit]")
    page.wait_for_selector("#promoted-link")
    # A refusal (a second program of the same name) is shown in the API's words, and nothing is made.
    page.click("[data-promote='2']")
    page.fill("#promote-name", "Large family support")
    page.click("#promote-form button[type=submit]")
    refusal = page.wait_for_selector("#promote-form [data-error]:not(:empty)").inner_text()
    assert "name" in refusal, refusal
    assert Program.objects.filter(name="Large family support").count() == 1
    page.click("#promoted-link")
    page.wait_for_url("**/programs/*/")
    page.wait_for_selector("body[data-ready=true]")
    program_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    program = api_client("officer").get(f"{P}/programs/{program_id}/").json()
    assert program["name"] == "Large family support" and program["eligibility_rule"] == "members.count >= 5"
    assert program["code"] in page.inner_text("#program-title")
    assert page.errors == []
