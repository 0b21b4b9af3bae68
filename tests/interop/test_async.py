"""Asynchronous search: a 202 acknowledgement, then a signed on-search callback POSTed to the sender's registered
host (a loopback HTTP server started here); transaction status, sync and async."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from interop.dci.models import DCITransaction
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.interop.sender import expression, search_message, verify_ours

pytestmark = pytest.mark.django_db


@pytest.fixture
def callback_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"message": {"ack_status": "ACK"}}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def households(db):
    for size in (1, 2, 4):
        household = HouseholdFactory()
        for _ in range(size):
            MembershipFactory(household=household, individual=IndividualFactory(), role="child")


def test_async_search_acks_then_calls_back_signed(
    make_sender, post, client, households, callback_server, django_capture_on_commit_callbacks
):
    sender = make_sender(hosts=[f"127.0.0.1:{callback_server.server_address[1]}"])
    header = sender.header(sender_uri=f"{callback_server.url}/registry/on-search")
    message = search_message(expression("household_size", "ge", 2))
    with django_capture_on_commit_callbacks(execute=True):
        response = post("/search", sender.envelope(message, header=header))
    assert response.status_code == 202, response.content
    ack = response.json()["message"]
    assert ack["ack_status"] == "ACK"
    (call,) = callback_server.received
    assert call["path"] == "/registry/on-search"
    body = call["body"]
    assert body["header"]["action"] == "on-search"
    assert body["message"]["correlation_id"] == ack["correlation_id"]
    assert body["message"]["transaction_id"] == message["transaction_id"]
    assert body["message"]["search_response"][0]["pagination"]["total_count"] == 2
    assert verify_ours(body, client.get("/.well-known/dci/jwks.json").json())
    row = DCITransaction.objects.get()
    assert (row.mode, row.status, row.delivery, row.delivery_attempts) == ("async", "succ", "delivered", 1)

    # The status of that search, asked synchronously by its transaction id.
    status_message = {
        "transaction_id": "status-1",
        "txnstatus_request": {
            "reference_id": "s1",
            "txn_type": "search",
            "attribute_type": "transaction_id",
            "attribute_value": message["transaction_id"],
        },
    }
    status = post("/sync/txn/status", sender.envelope(status_message, action="txn-status"))
    assert status.status_code == 200, status.content
    txn_status = status.json()["message"]["txnstatus_response"]["txn_status"]
    assert txn_status["correlation_id"] == ack["correlation_id"]
    assert [e["status"] for e in txn_status["search_response"]] == ["succ"]
    assert status.json()["header"]["action"] == "txn-on-status"


def test_a_callback_host_off_the_allow_list_is_refused_at_request_time(make_sender, post, households, callback_server):
    sender = make_sender(hosts=["partner.example.org"])
    header = sender.header(sender_uri=f"{callback_server.url}/registry/on-search")
    response = post("/search", sender.envelope(search_message(expression("household_size", "ge", 2)), header=header))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "err.sender_uri.invalid"
    assert "127.0.0.1 is not among the callback hosts" in response.json()["errors"][0]["message"]
    assert not DCITransaction.objects.exists() and not callback_server.received


def test_async_without_any_callback_url_is_refused(make_sender, post):
    sender = make_sender(hosts=["partner.example.org"])
    response = post("/search", sender.envelope(search_message(expression("household_size", "ge", 2))))
    assert response.status_code == 400 and "sender_uri" in response.json()["errors"][0]["message"]
    assert not DCITransaction.objects.exists()


def test_a_failed_callback_is_recorded_and_a_delivered_one_is_not_sent_twice(
    make_sender, post, households, callback_server, django_capture_on_commit_callbacks
):
    from interop.dci.services import dci_deliver

    port = callback_server.server_address[1]
    callback_server.shutdown()
    callback_server.server_close()
    sender = make_sender(hosts=[f"127.0.0.1:{port}"], callback_url=f"http://127.0.0.1:{port}/cb")
    with django_capture_on_commit_callbacks(execute=True):
        response = post("/search", sender.envelope(search_message(expression("household_size", "ge", 2))))
    assert response.status_code == 202
    row = DCITransaction.objects.get()
    assert row.delivery == "failed" and "ConnectionError" in row.delivery_error and row.delivery_attempts == 1
    row.delivery = "delivered"
    row.save()
    assert dci_deliver(transaction_pk=row.pk).delivery_attempts == 1


def test_unknown_transaction_status_is_a_rejection_naming_it(make_sender, post):
    sender = make_sender()
    message = {
        "transaction_id": "status-2",
        "txnstatus_request": {
            "reference_id": "s1",
            "txn_type": "search",
            "attribute_type": "correlation_id",
            "attribute_value": "nope",
        },
    }
    response = post("/sync/txn/status", sender.envelope(message, action="txn-status"))
    entry = response.json()["message"]["txnstatus_response"]["txn_status"]["search_response"][0]
    assert entry["status"] == "rjct" and entry["status_reason_code"] == "rjct.reference_id.invalid"


def test_async_txn_status_calls_back_on_status(
    make_sender, post, households, callback_server, django_capture_on_commit_callbacks
):
    sender = make_sender(hosts=[f"127.0.0.1:{callback_server.server_address[1]}"])
    first = post(
        "/sync/search", sender.envelope(search_message(expression("household_size", "ge", 2), reference_id="a"))
    )
    correlation = first.json()["message"]["correlation_id"]
    message = {
        "transaction_id": "status-3",
        "txnstatus_request": {
            "reference_id": "s1",
            "txn_type": "search",
            "attribute_type": "reference_id_list",
            "attribute_value": ["a"],
        },
    }
    header = sender.header("txn-status", sender_uri=f"{callback_server.url}/registry/txn/on-status")
    with django_capture_on_commit_callbacks(execute=True):
        response = post("/txn/status", sender.envelope(message, header=header))
    assert response.status_code == 202
    (call,) = callback_server.received
    assert call["body"]["header"]["action"] == "txn-on-status"
    assert call["body"]["message"]["txnstatus_response"]["txn_status"]["correlation_id"] == correlation
