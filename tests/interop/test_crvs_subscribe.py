"""Subscribing through the stand-in CRVS on loopback, end to end over HTTP: our signed subscribe, its ACK, its
on-subscribe callback with the subscription code, then its notify messages to our live server."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from interop.crvs.models import CrvsEvent, CrvsSubscription
from interop.crvs.signing import parse
from registry.models import ChangeRequest
from tests.interop.crvs_setup import sample_person_fixture, source_fixture, standin_fixture  # noqa: F401
from tests.interop.test_crvs_notify import death_record


def _wait_active(count: int, timeout: float = 15.0) -> list[CrvsSubscription]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = list(CrvsSubscription.objects.filter(status="active"))
        if len(active) == count:
            return active
        time.sleep(0.1)
    raise AssertionError(f"subscriptions: {list(CrvsSubscription.objects.values('event', 'status', 'error'))}")


@pytest.mark.django_db(transaction=True)
def test_subscribe_then_notify_over_http(live_server, settings, standin, source, sample_person):
    settings.SPMIS_CRVS_CALLBACK_BASE = live_server.url
    call_command("crvs_subscribe", "crvs")
    assert len(standin.subscribes) == 2
    sent = standin.subscribes[0]
    assert parse(sent["signature"]).sender_id == "spmis" and sent["header"]["action"] == "subscribe"
    assert sent["header"]["sender_uri"] == f"{live_server.url}/api/v1/interop/crvs/on-subscribe"
    criteria = sent["message"]["subscribe_request"][0]["subscribe_criteria"]
    assert criteria["reg_event_type"].startswith("spdci-common:RegistryEventType:")
    active = {s.event: s for s in _wait_active(2)}
    assert active["death"].code == standin.codes["spdci-common:RegistryEventType:Death"]

    # Asked again: nothing is sent for events already subscribed.
    call_command("crvs_subscribe", "crvs")
    assert len(standin.subscribes) == 2

    message = standin.notify_message([("EV-1", death_record())], subscription_code=active["death"].code)
    status, body = standin.post(f"{live_server.url}/api/v1/interop/crvs/notify", standin.envelope("notify", message))
    assert status == 200 and body["message"]["ack_status"] == "ACK", body
    status, body = standin.post(f"{live_server.url}/api/v1/interop/crvs/notify", standin.envelope("notify", message))
    assert status == 200 and body["message"]["duplicates"] == 1
    event = CrvsEvent.objects.get()
    assert event.outcome == "proposed" and event.individual_id == sample_person.pk
    assert ChangeRequest.objects.get().submitted_by == source.service_user


@pytest.mark.django_db
def test_a_refused_or_unanswered_subscribe_fails_with_words(standin, source):
    standin.refuse_subscribe = True
    with pytest.raises(CommandError, match="not accepted"):
        call_command("crvs_subscribe", "crvs", "--events", "death")
    failed = CrvsSubscription.objects.get()
    assert failed.status == "failed" and "closed today" in failed.error
    standin.close()
    with pytest.raises(CommandError):
        call_command("crvs_subscribe", "crvs", "--events", "death", "--timeout", "2")
    assert "did not answer" in CrvsSubscription.objects.latest("requested_at").error


@pytest.mark.django_db
def test_unknown_source_and_events_are_refused_with_words(source):
    with pytest.raises(CommandError, match="No CRVS source"):
        call_command("crvs_subscribe", "nowhere")
