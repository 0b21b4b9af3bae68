"""Payment accounts: numbers encrypted at rest with a blind index, validated before they are stored, changed only
through a request a second person approves, scoped by area and shown masked to holders of personal data only."""

from __future__ import annotations

import base64
import io
import json

import bdbanks
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from psycopg import sql

from programs.payments import crypto
from programs.payments.models import PaymentAccount, PaymentAccountChange
from programs.payments.selectors import masked_number, payment_account_list, shared_accounts
from programs.payments.services import (
    payment_account_change_approve,
    payment_account_change_reject,
    payment_account_change_request,
)
from spmis.core.models import AuditEvent
from tests.factories import BankFactory, HouseholdFactory, UserFactory, WalletProviderFactory

pytestmark = pytest.mark.django_db

ROUTING = "225150135"  # City Bank PLC, Agrabad Branch, in bdbanks' data
NUMBER = "1234567890123"
KEY_1 = ("k1", b"\x01" * 32)
KEY_2 = ("k2", b"\x02" * 32)


@pytest.fixture
def officers():
    return UserFactory(roles=["program_officer"]), UserFactory(roles=["program_officer"])


@pytest.fixture
def west_household(two_districts):
    _, west, _ = two_districts
    return HouseholdFactory(area=west)


def account_for(household, requester, approver, *, number: str = NUMBER, fsp=None, **fields) -> PaymentAccount:
    change = payment_account_change_request(
        user=requester,
        household=household,
        fsp=fsp or BankFactory(code="CITY"),
        kind=fields.pop("kind", "bank"),
        holder_name="Rahima Begum",
        number=number,
        routing_number=fields.pop("routing_number", ROUTING),
        **fields,
    )
    return payment_account_change_approve(change=change, user=approver)


def raw_ciphertext(table: str, pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT number_ciphertext FROM {} WHERE id = %s").format(sql.Identifier(table)), [pk])
        return bytes(cursor.fetchone()[0])


def test_the_number_is_encrypted_at_rest_and_decrypts_back(west_household, officers):
    account = account_for(west_household, *officers, number="1234-5678-90123")
    stored = raw_ciphertext("programs_paymentaccount", account.pk)
    assert crypto.decrypt(stored) == NUMBER  # normalised: separators dropped
    assert NUMBER.encode() not in stored and b"567890" not in stored and NUMBER not in stored.hex()
    assert crypto.key_id_of(stored) == crypto.current_key_id() == account.number_key_id
    change = PaymentAccountChange.objects.get()
    assert NUMBER.encode() not in raw_ciphertext("programs_paymentaccountchange", change.pk)
    # Two encryptions of one number differ (fresh nonce), yet the blind index is the same.
    assert crypto.encrypt(NUMBER)[0] != crypto.encrypt(NUMBER)[0]
    # The audit log records every write of the account and of the change, with the ciphertext only.
    events = AuditEvent.objects.filter(table_name__in=["programs_paymentaccount", "programs_paymentaccountchange"])
    assert sorted(events.values_list("table_name", "action")) == [
        ("programs_paymentaccount", "insert"),
        ("programs_paymentaccountchange", "insert"),
        ("programs_paymentaccountchange", "update"),
    ]
    assert not [event.pk for event in events if "567890" in json.dumps([event.before, event.after])]
    tampered = bytearray(stored)
    tampered[-1] ^= 1
    with pytest.raises(crypto.AccountKeyError):
        crypto.decrypt(bytes(tampered))


def test_the_blind_index_finds_one_account_on_two_households(two_districts, officers):
    _, west, east = two_districts
    first, second, third = HouseholdFactory(area=west), HouseholdFactory(area=east), HouseholdFactory(area=west)
    fsp = BankFactory(code="CITY")
    a = account_for(first, *officers, fsp=fsp)
    b = account_for(second, *officers, fsp=fsp, number="12345 67890 123")  # the same account, typed differently
    c = account_for(third, *officers, fsp=fsp, number="9999999999")
    assert a.blind_index == b.blind_index != c.blind_index
    national = UserFactory(roles=["program_officer"])
    assert list(shared_accounts(user=national)) == [{"blind_index": a.blind_index, "households": 2}]
    flags = dict(payment_account_list(user=national).values_list("household_id", "shared"))
    assert flags == {first.pk: True, second.pk: True, third.pk: False}
    # An officer of the west sees the signal for the west household, counted across the country.
    western = UserFactory(roles=["program_officer"], areas=[west])
    assert list(shared_accounts(user=western)) == [{"blind_index": a.blind_index, "households": 2}]
    # The lookup by value is served by the index (sequential scans off, as on a large table).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT 1 FROM programs_paymentaccount WHERE blind_index = %s", [a.blind_index])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "programs_pa_blind_index" in plan, plan


def test_rotation_reencrypts_under_the_current_key_and_old_keys_read_until_then(west_household, officers):
    with override_settings(SPMIS_ACCOUNT_KEYS=[KEY_1]):
        account = account_for(west_household, *officers)
    assert account.number_key_id == "k1"
    with override_settings(SPMIS_ACCOUNT_KEYS=[KEY_2, KEY_1]):
        # Before rotation the old key still decrypts; new writes use k2.
        assert crypto.decrypt(raw_ciphertext("programs_paymentaccount", account.pk)) == NUMBER
        assert crypto.encrypt("1")[1] == "k2"
        call_command("rotate_account_keys", chunk=1)
        again = io.StringIO()
        call_command("rotate_account_keys", stdout=again)  # nothing left: safe to run again
    assert again.getvalue().split("\n")[:2] == [
        "programs_paymentaccountchange: 0 re-encrypted",
        "programs_paymentaccount: 0 re-encrypted",
    ]
    account.refresh_from_db()
    assert account.number_key_id == "k2"
    assert PaymentAccountChange.objects.get().number_key_id == "k2"
    stored = raw_ciphertext("programs_paymentaccount", account.pk)
    with override_settings(SPMIS_ACCOUNT_KEYS=[KEY_2]):
        assert crypto.decrypt(stored) == NUMBER  # k1 can be retired
    with override_settings(SPMIS_ACCOUNT_KEYS=[KEY_1]):
        with pytest.raises(crypto.AccountKeyError, match="k2"):
            crypto.decrypt(stored)
        # A page showing an account whose key is gone still loads, with no number.
        assert masked_number(officers[0], stored) is None
    with override_settings(SPMIS_ACCOUNT_KEYS=[KEY_2]):
        assert masked_number(officers[0], stored) == "•••• 0123"


def test_a_new_index_key_recomputes_every_blind_index_and_shared_accounts_are_still_found(two_districts, officers):
    _, west, _ = two_districts
    first, second = HouseholdFactory(area=west), HouseholdFactory(area=west)
    with override_settings(SPMIS_ACCOUNT_INDEX_KEY=b"\x03" * 32):
        one, two = account_for(first, *officers), account_for(second, *officers)
        old = one.blind_index
    assert one.blind_index == two.blind_index  # the same account on two households
    with override_settings(SPMIS_ACCOUNT_INDEX_KEY=b"\x04" * 32):
        output = io.StringIO()
        call_command("rebuild_account_index", chunk=1, stdout=output)
        assert "programs_paymentaccount: 2 recomputed" in output.getvalue()
        expected = crypto.blind_index(f"bank:225:{NUMBER}")
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.blind_index == two.blind_index == expected != old
    assert set(PaymentAccountChange.objects.values_list("blind_index", flat=True)) == {expected}
    assert [row["households"] for row in shared_accounts(user=officers[0])] == [2]


def test_routing_numbers_are_checked_against_bdbanks(west_household, officers):
    requester, _ = officers
    city = BankFactory(code="CITY")
    assert bdbanks.lookup(ROUTING).bank_code == city.bank_code
    wrong_check_digit = ROUTING[:-1] + str((int(ROUTING[-1]) + 1) % 10)
    assert bdbanks.lookup(wrong_check_digit) is None
    for routing, words in [
        (wrong_check_digit, "not a known branch"),
        ("22515013", "not nine digits"),
        ("", "BEFTN routing number"),
    ]:
        with pytest.raises(ValidationError) as refused:
            payment_account_change_request(
                user=requester,
                household=west_household,
                fsp=city,
                kind="bank",
                holder_name="R",
                number=NUMBER,
                routing_number=routing,
            )
        assert list(refused.value.message_dict) == ["routing_number"]
        assert words in refused.value.message_dict["routing_number"][0]
    other_bank = next(b for b in bdbanks.branches("010") if bdbanks.check(b.routing).ok)  # Agrani Bank
    with pytest.raises(ValidationError, match="AGRANI") as refused:
        payment_account_change_request(
            user=requester,
            household=west_household,
            fsp=city,
            kind="bank",
            holder_name="R",
            number=NUMBER,
            routing_number=other_bank.routing,
        )
    assert "routing_number" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        payment_account_change_request(
            user=requester,
            household=west_household,
            fsp=city,
            kind="bank",
            holder_name="R",
            number="12ab",
            routing_number=ROUTING,
        )
    assert list(refused.value.message_dict) == ["number"]


def test_ibans_and_bics_are_validated(west_household, officers):
    requester, approver = officers
    fsp = BankFactory(code="EUBANK", bank_code="", bic="COBADEFFXXX")
    account = account_for(
        west_household,
        requester,
        approver,
        fsp=fsp,
        kind="iban",
        number="de89 3704 0044 0532 0130 00",
        routing_number="",
    )
    assert crypto.decrypt(account.number_ciphertext) == "DE89370400440532013000"
    assert account.bic == "COBADEFFXXX"
    with pytest.raises(ValidationError) as refused:
        payment_account_change_request(
            user=requester,
            household=HouseholdFactory(),
            fsp=fsp,
            kind="iban",
            holder_name="R",
            number="DE89370400440532013001",
        )
    assert list(refused.value.message_dict) == ["number"] and "IBAN" in refused.value.message_dict["number"][0]
    with pytest.raises(ValidationError) as refused:
        payment_account_change_request(
            user=requester,
            household=HouseholdFactory(),
            fsp=fsp,
            kind="iban",
            holder_name="R",
            number="DE89370400440532013000",
            bic="XXXX",
        )
    assert list(refused.value.message_dict) == ["bic"]


def test_wallet_numbers_are_normalised_to_e164(two_districts, officers):
    requester, approver = officers
    _, west, _ = two_districts
    bkash = WalletProviderFactory(code="BKASH")
    first = account_for(
        HouseholdFactory(area=west),
        requester,
        approver,
        fsp=bkash,
        kind="mobile_wallet",
        number="017 1234 5678",
        routing_number="",
    )
    second = account_for(
        HouseholdFactory(area=west),
        requester,
        approver,
        fsp=bkash,
        kind="mobile_wallet",
        number="+8801712345678",
        routing_number="",
    )
    assert crypto.decrypt(first.number_ciphertext) == "+8801712345678"
    assert first.blind_index == second.blind_index
    with pytest.raises(ValidationError) as refused:
        payment_account_change_request(
            user=requester,
            household=HouseholdFactory(area=west),
            fsp=bkash,
            kind="mobile_wallet",
            holder_name="R",
            number="12",
        )
    assert list(refused.value.message_dict) == ["number"]
    with pytest.raises(ValidationError) as refused:  # a wallet needs a mobile money provider
        payment_account_change_request(
            user=requester,
            household=HouseholdFactory(area=west),
            fsp=BankFactory(code="CITY"),
            kind="mobile_wallet",
            holder_name="R",
            number="01712345678",
        )
    assert list(refused.value.message_dict) == ["fsp"]


def test_four_eyes_refused_by_the_service_and_by_the_database(west_household, officers):
    requester, approver = officers
    change = payment_account_change_request(
        user=requester,
        household=west_household,
        fsp=BankFactory(code="CITY"),
        kind="bank",
        holder_name="R",
        number=NUMBER,
        routing_number=ROUTING,
    )
    with pytest.raises(ValidationError, match="four eyes"):
        payment_account_change_approve(change=change, user=requester)
    with pytest.raises(PermissionDenied):
        payment_account_change_approve(change=change, user=UserFactory(roles=["auditor"]))
    assert not PaymentAccount.objects.exists()
    with pytest.raises(IntegrityError, match="programs_pac_four_eyes"), transaction.atomic():
        PaymentAccountChange.objects.filter(pk=change.pk).update(
            status="approved", reviewed_by=requester, reviewed_at=change.requested_at
        )
    with pytest.raises(ValidationError, match="waiting for review"):
        payment_account_change_request(
            user=approver,
            household=west_household,
            fsp=change.fsp,
            kind="bank",
            holder_name="R",
            number=NUMBER,
            routing_number=ROUTING,
        )
    with pytest.raises(ValidationError) as refused:
        payment_account_change_reject(change=change, user=approver)
    assert list(refused.value.message_dict) == ["note"]
    rejected = payment_account_change_reject(change=change, user=approver, note="Holder name does not match")
    assert rejected.status == "rejected" and rejected.reviewed_by == approver
    assert not PaymentAccount.objects.exists()
    # A later approved change replaces the account in place and stamps changed_at.
    account = account_for(west_household, requester, approver)
    replaced = account_for(west_household, approver, requester, number="5555555555")
    assert replaced.pk == account.pk and replaced.changed_at > account.changed_at
    assert crypto.decrypt(PaymentAccount.objects.get().number_ciphertext) == "5555555555"


def test_an_officer_outside_the_area_neither_sees_nor_requests(two_districts, west_household, officers, client_for):
    _, _, east = two_districts
    account = account_for(west_household, *officers)
    eastern = UserFactory(roles=["program_officer"], areas=[east])
    assert not payment_account_list(user=eastern).exists()
    client = client_for(eastern)
    assert client.get(f"/api/v1/programs/payment-accounts/{account.pk}/").status_code == 404
    assert client.get("/api/v1/programs/payment-accounts/").json()["results"] == []
    assert client.get("/api/v1/programs/payment-account-changes/").json()["results"] == []
    refused = client.post(
        "/api/v1/programs/payment-account-changes/",
        {
            "household": west_household.pk,
            "fsp": "CITY",
            "kind": "bank",
            "holder_name": "X",
            "number": NUMBER,
            "routing_number": ROUTING,
        },
        format="json",
    )
    assert refused.status_code == 400 and "household" in refused.json()


def test_api_end_to_end_second_person_approves_and_the_number_shows_masked(west_household, client_for):
    BankFactory(code="CITY")
    requester = client_for(roles=["program_officer"])
    approver = client_for(roles=["finance_officer"])
    auditor = client_for(roles=["auditor"])
    created = requester.post(
        "/api/v1/programs/payment-account-changes/",
        {
            "household": west_household.pk,
            "fsp": "CITY",
            "kind": "bank",
            "holder_name": "Rahima Begum",
            "number": NUMBER,
            "routing_number": ROUTING,
            "reason": "New account",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    change = created.json()
    assert change["status"] == "pending" and change["number_masked"] == "•••• 0123" and "number" not in change
    bad = requester.post(
        "/api/v1/programs/payment-account-changes/",
        {
            "household": west_household.pk,
            "fsp": "CITY",
            "kind": "bank",
            "holder_name": "R",
            "number": NUMBER,
            "routing_number": "225150136",
        },
        format="json",
    )
    assert bad.status_code == 400 and "routing_number" in bad.json()
    own = requester.post(f"/api/v1/programs/payment-account-changes/{change['id']}/approve/", {}, format="json")
    assert own.status_code == 400 and "reviewed_by" in own.json()
    approved = approver.post(f"/api/v1/programs/payment-account-changes/{change['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["number_masked"] is None  # finance officers hold no personal data
    account = requester.get(f"/api/v1/programs/payment-accounts/{approved.json()['id']}/").json()
    assert account["household"] == west_household.pk and account["number_masked"] == "•••• 0123"
    assert account["holder_name"] == "Rahima Begum" and account["shared"] is False and account["changed_at"]
    seen = auditor.get(f"/api/v1/programs/payment-accounts/{account['id']}/").json()
    assert seen["number_masked"] is None and seen["holder_name"] is None
    assert NUMBER not in str(auditor.get("/api/v1/programs/payment-account-changes/").json())
    assert NUMBER not in str(requester.get("/api/v1/programs/payment-accounts/").json())
    assert (
        auditor.post(f"/api/v1/programs/payment-account-changes/{change['id']}/reject/", {"note": "x"}).status_code
        == 403
    )


def test_providers_are_kept_by_finance_officers_with_clear_errors(client_for):
    finance = client_for(roles=["finance_officer"])
    officer = client_for(roles=["program_officer"])
    body = {
        "code": "CITY",
        "name": "City Bank PLC",
        "kind": "bank",
        "currency": "bdt",
        "bank_code": "225",
        "file_format": "pain.001.001.09",
        "transport": "sftp",
        "connection": {"outbox_dir": "/srv/drop/city/out", "inbox_dir": "/srv/drop/city/in"},
        "max_per_transaction": "50000",
        "fee_percent": "0.5",
        "fee_fixed": "5",
    }
    # A drop-folder provider without its folders is refused, naming the setting.
    missing = finance.post("/api/v1/programs/fsps/", {**body, "connection": {}}, format="json")
    assert missing.status_code == 400 and "connection.outbox_dir" in missing.json()
    created = finance.post("/api/v1/programs/fsps/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["currency"] == "BDT"
    assert officer.post("/api/v1/programs/fsps/", {**body, "code": "X"}, format="json").status_code == 403
    assert finance.post("/api/v1/programs/fsps/", body, format="json").json() == {
        "code": ["A provider with code CITY exists already."]
    }
    assert "bank_code" in finance.post("/api/v1/programs/fsps/", {**body, "code": "B", "bank_code": "999"}).json()
    wallet = finance.post(
        "/api/v1/programs/fsps/", {**body, "code": "W", "kind": "mobile_money", "bank_code": ""}, format="json"
    )
    assert wallet.status_code == 400 and "wallet_provider" in wallet.json()
    assert [f["code"] for f in officer.get("/api/v1/programs/fsps/").json()["results"]] == ["CITY"]


def test_a_bad_key_setting_is_refused_with_its_name(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from spmis.env import env_keys

    monkeypatch.setenv("SPMIS_ACCOUNT_KEYS", "k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(ImproperlyConfigured, match="5 bytes"):
        env_keys("SPMIS_ACCOUNT_KEYS")
    monkeypatch.setenv(
        "SPMIS_ACCOUNT_KEYS", f"k2:{base64.b64encode(KEY_2[1]).decode()},k1:{base64.b64encode(KEY_1[1]).decode()}"
    )
    assert env_keys("SPMIS_ACCOUNT_KEYS") == [KEY_2, KEY_1]
