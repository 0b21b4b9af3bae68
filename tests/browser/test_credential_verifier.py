"""The offline card verifier: load it once online (keys and status lists cached, service worker installed), go
offline, and check a valid card, a revoked one, an expired one and a tampered one, each refused for its reason."""

from __future__ import annotations

import json
import os
import time

import pytest

from programs.credentials import claim169, keys, selectors
from programs.credentials.models import Card
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS, screenshot
from tests.programs.factories_credentials import request_card, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _approved_card(world, household=None) -> Card:  # noqa: F811
    program, default_household, _, requester, approver, _, _ = world
    card_id = request_card(requester, program, household or default_household).json()["id"]
    assert approver.post(f"/api/v1/programs/cards/{card_id}/approve/").status_code == 200
    return Card.objects.get(pk=card_id)


def test_offline_verifier_valid_revoked_expired_tampered(world, live_server):  # noqa: F811
    playwright_api = pytest.importorskip("playwright.sync_api")
    from programs.models import ProgramMembership
    from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory

    program, household, _, requester, _, _, _ = world
    good = _approved_card(world)
    other = HouseholdFactory()
    MembershipFactory(household=other, individual=IndividualFactory(given_name="Karim", family_name="Uddin"))
    ProgramMembership.objects.create(program=program, household=other, state="enrolled")
    revoked = _approved_card(world, other)
    good_qr = selectors.card_qr_text(good)
    revoked_qr = selectors.card_qr_text(revoked)
    assert (
        requester.post(f"/api/v1/programs/cards/{revoked.pk}/revoke/", {"reason": "lost"}, format="json").status_code
        == 200
    )
    expired_qr = claim169.encode(
        {"id": "H-OLD", "fullName": "Old Card"},
        keys.signing_key(),
        issuer="x",
        issued_at=int(time.time()) - 86400 * 400,
        expires_at=int(time.time()) - 86400,
    )
    payload = claim169.cwt_payload(
        {"id": household.registrant_id, "fullName": "Amina Rahman", "programCode": program.code},
        issuer="x",
        issued_at=int(time.time()),
        expires_at=int(time.time()) + 86400,
    )
    encrypted_qr = claim169.encode(
        {"id": "H-ENC", "fullName": "Sealed Card"},
        keys.signing_key(),
        issuer="x",
        expires_at=int(time.time()) + 86400,
        encryption_key=os.urandom(32),
        iv=os.urandom(12),
    )
    tampered_qr = claim169.wrap(claim169.sign_payload(payload, keys.signing_key()).replace(b"Amina", b"Ahmed"))

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/verify/")
        page.wait_for_selector("#cache-state[data-ready='1']")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now controlled by the worker, which caches the page and its script
        page.wait_for_selector("#cache-state[data-ready='1']")
        page.wait_for_function("navigator.serviceWorker.controller !== null")

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#cache-state[data-ready='1']")
        assert "offline" in page.inner_text("#cache-state")

        def check(text: str) -> tuple[str, str]:
            page.fill("#qr-text", text)
            page.evaluate("document.getElementById('result').dataset.reason = ''")
            page.click("#verify-form button[type=submit]")
            page.wait_for_function("document.getElementById('result').dataset.reason !== ''")
            return page.get_attribute("#result", "data-reason"), page.inner_text("#result")

        reason, words = check(good_qr)
        assert reason == "valid", words
        assert "Amina Rahman" in words and "Not revoked" in words
        screenshot(page, "verifier-valid")
        reason, words = check(revoked_qr)
        assert reason == "revoked" and "revoked" in words
        reason, words = check(expired_qr)
        assert reason == "expired" and "expired" in words
        reason, words = check(tampered_qr)
        assert reason == "bad_signature" and "altered" in words
        reason, words = check(encrypted_qr)
        assert reason == "encrypted" and "encrypted" in words
        reason, _ = check("not a card")
        assert reason == "base45"
        assert errors == []
        browser.close()


@pytest.mark.parametrize(
    ("language", "heading", "revoked"),
    [
        ("fr", "Vérifier une carte d’identité", "révoquée"),
        ("bn", "পরিচয়পত্র যাচাই করুন", "বাতিল"),
        ("en", "Check an ID card", "revoked"),
    ],
)
def test_verifier_page_speaks_the_users_language(client, language, heading, revoked):
    """The page and every verdict it shows offline come translated from the server (the worker caches them)."""
    page = client.get("/verify/", HTTP_ACCEPT_LANGUAGE=language)
    html = page.content.decode()
    assert page.status_code == 200 and heading in html
    config = json.loads(html.split('id="verifier-config" type="application/json">')[1].split("</script>")[0])
    assert revoked in config["messages"]["revoked"] and "{m}" in config["messages"]["notRevoked"]
    assert config["messages"]["encrypted"]
