"""ID cards end to end through the API: request → approve (four eyes, service and database) → print (PDF of ID-1
sheets whose QR codes the independent Rust verifier accepts) → distribute → lost/revoked/replaced; reprints
recorded; personal data only with the permission; every step audited; leaving the program revokes."""

from __future__ import annotations

import claim169 as rust
import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from programs.credentials import claim169, keys, selectors
from programs.credentials.models import Card, CardPrint, CredentialEvent, StatusList
from programs.models import ProgramMembership
from spmis.core.models import AuditEvent
from tests.factories import HouseholdFactory
from tests.programs.factories_credentials import request_card, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_card_life_through_the_api(world):  # noqa: F811
    program, household, _head, requester, approver, west, _ = world
    created = request_card(requester, program, household)
    assert created.status_code == 201, created.content
    card = created.json()
    assert card["status"] == "requested" and card["holder_name"] == "Amina Rahman" and card["area"] == west.code

    # Four eyes: the requester cannot approve; another officer can.
    refused = requester.post(f"/api/v1/programs/cards/{card['id']}/approve/")
    assert refused.status_code == 403 and "someone other" in refused.json()["detail"]
    approved = approver.post(f"/api/v1/programs/cards/{card['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["approved_by"] == approver.user.username

    # A second live card for the same household is refused with a message naming it.
    again = request_card(requester, program, household)
    assert again.status_code == 400 and household.registrant_id in str(again.json())

    batch = requester.post("/api/v1/programs/card-print-batches/", {"cards": [card["code"]]}, format="json")
    assert batch.status_code == 201, batch.content
    pdf = requester.get(f"/api/v1/programs/card-print-batches/{batch.json()['id']}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert Card.objects.get(pk=card["id"]).status == "printed"

    # Reprint: recorded as a second print row marked reprint.
    batch2 = requester.post("/api/v1/programs/card-print-batches/", {"cards": [card["code"]]}, format="json")
    assert batch2.status_code == 201
    assert list(CardPrint.objects.filter(card_id=card["id"]).order_by("id").values_list("reprint", flat=True)) == [
        False,
        True,
    ]
    assert Card.objects.get(pk=card["id"]).prints == 2

    qr = requester.get(f"/api/v1/programs/cards/{card['id']}/qr/").json()["qr"]
    # The independent verifier accepts it with our published key; only the configured fields are inside.
    public = keys.signing_key().public_key.public_bytes_raw()
    result = rust.decode_with_ed25519(qr, public)
    assert result.is_verified() and result.claim169.full_name == "Amina Rahman"
    decoded = claim169.decode(qr, keys.verification_keys())
    assert set(decoded.claims) == {"id", "fullName", "locationCode", "programCode", "cardCode"}
    assert decoded.claims["id"] == household.registrant_id and decoded.claims["programCode"] == program.code

    assert requester.post(f"/api/v1/programs/cards/{card['id']}/distribute/").json()["status"] == "distributed"
    check = requester.post("/api/v1/programs/credential-checks/", {"qr": qr}, format="json").json()
    assert check["valid"] and check["reason"] == "valid"

    lost = requester.post(f"/api/v1/programs/cards/{card['id']}/lost/", {"reason": "washed away"}, format="json")
    assert lost.json()["status"] == "lost"
    check = requester.post("/api/v1/programs/credential-checks/", {"qr": qr}, format="json").json()
    assert not check["valid"] and check["reason"] == "revoked"

    replaced = requester.post(f"/api/v1/programs/cards/{card['id']}/replace/", {}, format="json")
    assert replaced.status_code == 201 and replaced.json()["replaces"] == card["code"]
    assert replaced.json()["status"] == "requested"
    assert Card.objects.get(pk=card["id"]).status == "replaced"

    # Audited: every card row change, print and verification lookup.
    actions = AuditEvent.objects.filter(table_name="programs_card", row_id=card["id"]).count()
    assert actions >= 6
    kinds = set(CredentialEvent.objects.values_list("kind", flat=True))
    assert {"printed", "downloaded", "issued", "verified", "revoked"} <= kinds


def test_database_refuses_self_approval_and_unrevoking(world):  # noqa: F811
    program, household, _, requester, approver, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Card.objects.filter(pk=card_id).update(
            status="approved", approved_by=F("requested_by"), approved_at="2026-01-01"
        )
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    requester.post(f"/api/v1/programs/cards/{card_id}/revoke/", {"reason": "fraud"}, format="json")
    card = Card.objects.get(pk=card_id)
    status_list = StatusList.objects.get(pk=card.status_list_id)
    assert selectors.status_bit(status_list, card.status_index) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusList.objects.filter(pk=status_list.pk).update(bits=bytes(status_list.size // 8))


def test_revoke_needs_a_reason_and_bad_transitions_are_refused(world):  # noqa: F811
    program, household, _, requester, _, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    no_reason = requester.post(f"/api/v1/programs/cards/{card_id}/revoke/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    early = requester.post(f"/api/v1/programs/cards/{card_id}/distribute/")
    assert early.status_code == 400 and "requested" in str(early.json())
    not_approved = requester.post(
        "/api/v1/programs/card-print-batches/", {"cards": [Card.objects.get(pk=card_id).code]}, format="json"
    )
    assert not_approved.status_code == 400 and "approved" in str(not_approved.json())
    assert not CardPrint.objects.exists()


def test_leaving_the_program_revokes_and_flips_the_bit(world):  # noqa: F811
    program, household, _, requester, approver, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    ProgramMembership.objects.filter(program=program, household=household).update(state="exited")
    card = Card.objects.get(pk=card_id)
    assert card.status == "revoked" and "left the program" in card.reason
    assert selectors.status_bit(StatusList.objects.get(pk=card.status_list_id), card.status_index) == 1


def test_personal_data_and_scope(world, client_for):  # noqa: F811
    program, household, _, requester, approver, west, east = world
    card_id = request_card(requester, program, household).json()["id"]
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    auditor = client_for(roles=["auditor"], areas=[west])
    seen = auditor.get(f"/api/v1/programs/cards/{card_id}/")
    assert seen.status_code == 200 and seen.json()["holder_name"] is None
    assert auditor.get(f"/api/v1/programs/cards/{card_id}/qr/").status_code == 403
    elsewhere = client_for(roles=["program_officer"], areas=[east])
    assert elsewhere.get(f"/api/v1/programs/cards/{card_id}/").status_code == 404
    assert elsewhere.get("/api/v1/programs/cards/").json()["count"] == 0
    outsider = request_card(elsewhere, program, household)
    assert outsider.status_code == 403


def test_pdf_sheet_qr_read_back():
    """The PDF's embedded QR image decodes (zxing-cpp) to the exact signed text."""
    import zxingcpp

    from programs.credentials.documents import qr_image

    key = keys.signing_key()
    text = claim169.encode({"id": "H-1", "fullName": "Amina Rahman"}, key, issuer="x", expires_at=2_000_000_000)
    found = zxingcpp.read_barcodes(qr_image(text).convert("L"))
    assert [r.text for r in found] == [text]


def test_not_enrolled_refused(world):  # noqa: F811
    program, _, _, requester, _, _, _ = world
    stranger = HouseholdFactory()
    response = request_card(requester, program, stranger)
    assert response.status_code == 400 and "not enrolled" in str(response.json())


def test_only_configured_fields_enter_the_qr(world, settings):  # noqa: F811
    program, household, head, requester, approver, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    settings.SPMIS_CREDENTIAL_QR_FIELDS = ["id", "dateOfBirth", "gender"]
    decoded = claim169.decode(
        requester.get(f"/api/v1/programs/cards/{card_id}/qr/").json()["qr"], keys.verification_keys()
    )
    assert decoded.claims == {
        "id": household.registrant_id,
        "dateOfBirth": head.birth_date.strftime("%Y%m%d"),
        "gender": 2,
    }
    settings.SPMIS_CREDENTIAL_QR_FIELDS = ["id", "phoneNumber"]
    with pytest.raises(ValueError, match="phoneNumber"):
        selectors.qr_fields()
