"""Offline: a point's device records redemptions without a connection and uploads them later as a signed batch.
Re-uploading adds nothing; a record already redeemed elsewhere becomes a conflict for follow-up, never a second
issue; a batch with a bad signature, from a revoked device or with a malformed record writes nothing."""

import json
import uuid

import pytest

from distribution.redemption import vouchers
from distribution.redemption.models import Redemption, RedemptionBalance, RedemptionBatch, RedemptionConflict
from tests.distribution import factories_redemption as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/distribution/redemption-batches/"


@pytest.fixture
def site(client_for, two_districts):
    _, west, _ = two_districts
    api = client_for(roles=["logistics_officer"], areas=[west])
    point = f.point("DP-OFF", location=(90.4, 23.7))
    device, key = f.device(user=api.user, point=point, key_id="tab-1")
    cycle = f.approved_cycle()
    cash = [f.entitlement(cycle=cycle, household=f.household_with_id()[0], kind="cash", amount="900") for _ in "ab"]
    return {"api": api, "point": point, "device": device, "key": key, "cash": cash, "west": west}


def counts():
    return (Redemption.objects.count(), RedemptionConflict.objects.count(), RedemptionBatch.objects.count())


def test_a_batch_is_applied_once_and_a_reupload_adds_nothing(site):
    records = [
        f.offline_record(voucher=vouchers.sign(site["cash"][0].code), amount="400"),
        f.offline_record(voucher=vouchers.sign(site["cash"][1].code)),
    ]
    body = f.signed_batch(site["device"], site["key"], records)
    response = site["api"].post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [row["status"] for row in data["result"]] == ["redeemed", "redeemed"]
    assert (data["redeemed"], data["conflicts"]) == (2, 0)
    first = Redemption.objects.get(code=data["result"][0]["redemption"])
    assert first.method == "offline" and first.device_id == site["device"].pk and first.operator_label == "Rahima"
    assert first.occurred_at.isoformat()[:16] == records[0]["occurred_at"][:16]  # the device's time, not upload's
    before = counts()

    again = site["api"].post(URL, body, format="json")
    assert again.status_code == 200 and again.json()["result"] == data["result"]
    # The same records in a new batch (the device lost its "sent" mark): reported as duplicates, nothing added.
    resent = site["api"].post(URL, f.signed_batch(site["device"], site["key"], records), format="json")
    assert resent.status_code == 201
    assert [row["status"] for row in resent.json()["result"]] == ["duplicate", "duplicate"]
    assert counts() == (before[0], before[1], before[2] + 1)
    assert RedemptionBalance.objects.get(entitlement=site["cash"][0]).redeemed == 400


def test_a_record_already_redeemed_elsewhere_is_a_conflict_not_a_second_issue(site, client_for):
    online_point = f.point("DP-ON", location=(90.6, 23.4))
    cashier = client_for(roles=["logistics_officer"], areas=[site["west"]])
    voucher = vouchers.sign(site["cash"][0].code)
    online = cashier.post(
        "/api/v1/distribution/redemptions/", {"point": online_point.pk, "voucher": voucher}, format="json"
    )
    assert online.status_code == 201, online.json()

    record = f.offline_record(voucher=voucher, amount="100")
    body = f.signed_batch(
        site["device"], site["key"], [record, f.offline_record(voucher=vouchers.sign(site["cash"][1].code))]
    )
    response = site["api"].post(URL, body, format="json")
    assert response.status_code == 201
    conflict, fine = response.json()["result"]
    assert fine["status"] == "redeemed"
    assert conflict["status"] == "conflict" and conflict["reason"] == "already_redeemed"
    assert (
        conflict["previous"][0]["point"] == "DP-ON" and conflict["previous"][0]["redemption"] == online.json()["code"]
    )
    assert "DP-ON" in conflict["message"]
    row = RedemptionConflict.objects.get()
    assert row.status == "open" and row.first_redemption.code == online.json()["code"]
    assert str(row.client_uuid) == record["client_uuid"]
    assert RedemptionBalance.objects.get(entitlement=site["cash"][0]).redeemed == 900  # not 1000
    assert Redemption.objects.filter(entitlement=site["cash"][0]).count() == 1

    # Re-sent in another batch: the stored conflict is reported again, not a second row.
    resent = site["api"].post(URL, f.signed_batch(site["device"], site["key"], [record]), format="json")
    assert resent.json()["result"][0]["reason"] == "already_redeemed"
    assert RedemptionConflict.objects.count() == 1

    listed = site["api"].get("/api/v1/distribution/redemption-conflicts/?status=open").json()
    assert listed["count"] == 1 and listed["results"][0]["first_redemption_code"] == online.json()["code"]
    resolved = site["api"].post(
        f"/api/v1/distribution/redemption-conflicts/{row.pk}/resolve/", {"resolution": "Household told"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"


def test_a_key_reused_for_a_different_record_is_a_conflict(site):
    record = f.offline_record(voucher=vouchers.sign(site["cash"][0].code), amount="100")
    site["api"].post(URL, f.signed_batch(site["device"], site["key"], [record]), format="json")
    changed = {**record, "amount": "200"}
    response = site["api"].post(URL, f.signed_batch(site["device"], site["key"], [changed]), format="json")
    assert response.json()["result"][0]["reason"] == "key_reused"
    assert RedemptionBalance.objects.get(entitlement=site["cash"][0]).redeemed == 100


def test_the_same_batch_id_with_other_records_is_refused(site):
    batch = str(uuid.uuid4())
    voucher = vouchers.sign(site["cash"][0].code)
    first = f.signed_batch(site["device"], site["key"], [f.offline_record(voucher=voucher, amount="1")], batch=batch)
    assert site["api"].post(URL, first, format="json").status_code == 201
    other = f.signed_batch(site["device"], site["key"], [f.offline_record(voucher=voucher, amount="2")], batch=batch)
    response = site["api"].post(URL, other, format="json")
    assert response.status_code == 422 and "different records" in json.dumps(response.json())


def _tampered(body):
    payload = json.loads(body["payload"])
    payload["records"][0]["amount"] = "900"
    return {**body, "payload": json.dumps(payload)}


@pytest.mark.parametrize(
    ("spoil", "field", "words"),
    [
        (_tampered, "signature", "not device tab-1's"),
        (lambda body: {**body, "device": "nobody"}, "device", "No device"),
        (lambda body: {**body, "signature": "abc"}, "signature", "64 bytes"),
        (lambda body: {**body, "payload": "[]"}, "signature", "not device"),
    ],
)
def test_a_batch_not_signed_by_its_device_writes_nothing(site, spoil, field, words):
    body = f.signed_batch(
        site["device"], site["key"], [f.offline_record(voucher=vouchers.sign(site["cash"][0].code), amount="1")]
    )
    response = site["api"].post(URL, spoil(body), format="json")
    assert response.status_code == 400 and words in " ".join(response.json()[field])
    assert counts() == (0, 0, 0)


def test_a_revoked_device_and_malformed_records_write_nothing(site):
    voucher = vouchers.sign(site["cash"][0].code)
    future = f.offline_record(voucher=voucher, minutes_ago=-120)
    response = site["api"].post(
        URL, f.signed_batch(site["device"], site["key"], [f.offline_record(voucher=voucher), future]), format="json"
    )
    assert response.status_code == 400 and "future" in response.json()["records[1].occurred_at"][0]
    no_key = {**f.offline_record(voucher=voucher), "client_uuid": "x"}
    response = site["api"].post(URL, f.signed_batch(site["device"], site["key"], [no_key]), format="json")
    assert response.status_code == 400 and "records[0].client_uuid" in response.json()
    assert counts() == (0, 0, 0)

    revoke = site["api"].post(f"/api/v1/distribution/redemption-devices/{site['device'].pk}/revoke/")
    assert revoke.status_code == 200 and revoke.json()["is_active"] is False
    response = site["api"].post(
        URL, f.signed_batch(site["device"], site["key"], [f.offline_record(voucher=voucher)]), format="json"
    )
    assert response.status_code == 400 and "revoked" in response.json()["device"][0]
    assert counts() == (0, 0, 0)


def test_an_invalid_record_among_good_ones_is_kept_for_follow_up(site):
    good = f.offline_record(voucher=vouchers.sign(site["cash"][1].code))
    mistyped = f.offline_record(voucher=vouchers.sign(site["cash"][0].code)[:-2] + "AA")
    response = site["api"].post(URL, f.signed_batch(site["device"], site["key"], [mistyped, good]), format="json")
    bad, fine = response.json()["result"]
    assert fine["status"] == "redeemed"
    assert bad["status"] == "conflict" and bad["reason"] == "invalid" and "signature" in bad["message"]
    assert RedemptionConflict.objects.get().reason == "refused"


def test_validity_is_judged_on_the_day_the_device_recorded_it(site):
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    household, _ = f.household_with_id()
    lapsed = f.entitlement(
        cycle=site["cash"][0].cycle, household=household, kind="cash", amount="100",
        valid_from=today - datetime.timedelta(days=5), valid_until=today - datetime.timedelta(days=1),
    )  # fmt: skip
    voucher = vouchers.sign(lapsed.code)
    while_valid = f.offline_record(voucher=voucher, amount="40", minutes_ago=2 * 24 * 60)
    too_late = f.offline_record(voucher=voucher, amount="40", minutes_ago=5)
    response = site["api"].post(
        URL, f.signed_batch(site["device"], site["key"], [while_valid, too_late]), format="json"
    )
    ok, late = response.json()["result"]
    assert ok["status"] == "redeemed"
    assert late["status"] == "conflict" and late["reason"] == "expired"
    assert RedemptionBalance.objects.get(entitlement=lapsed).redeemed == 40


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"public_key": "not base64!"}, "public_key", "base64"),
        ({"public_key": "AAAA"}, "public_key", "32 bytes"),
        ({"name": ""}, "name", ""),
        ({"key_id": "tab-1"}, "key_id", "registered already"),
        ({"key_id": "bad id"}, "key_id", "Letters"),
    ],
)
def test_device_registration_refuses_bad_keys_naming_the_field(site, change, field, words):
    body = {"point": site["point"].pk, "name": "Phone", "public_key": f.b64url(bytes(32)), **change}
    response = site["api"].post("/api/v1/distribution/redemption-devices/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert words in " ".join(response.json()[field])
    assert site["api"].get("/api/v1/distribution/redemption-devices/").json()["count"] == 1
