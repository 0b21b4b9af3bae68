from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from interop.dci.senders import sender_register
from tests.interop.sender import Sender

BASE = "/api/v1/interop/dci/registry"


@pytest.fixture
def make_sender(db):
    """make_sender(personal=..., areas=[codes], hosts=[...], consent_required=...) -> a registered Sender."""

    def make(sender_id="sp-system", *, personal=False, areas=None, hosts=(), consent_required=False, callback_url=""):
        sender = Sender(sender_id)
        sender.row = sender_register(
            sender_id=sender_id,
            name=f"{sender_id} system",
            jwks=sender.jwks(),
            callback_hosts=list(hosts),
            callback_url=callback_url,
            personal_data=personal,
            area_codes=areas,
            consent_required=consent_required,
        )
        return sender

    return make


@pytest.fixture
def post():
    client = APIClient()

    def send(path: str, body, **extra):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return client.post(BASE + path, data=data, content_type="application/json", **extra)

    return send
