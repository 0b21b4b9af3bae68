"""Against the SPDCI social registry OpenAPI document (a patched copy, tests/interop/spec/PATCHES.md): the spec's
own sample requests get schema-valid answers, and schemathesis-generated requests, signed, never break the server
and are answered in the spec's shapes."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.transport import Response

from interop.dci.models import DCITransaction
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.interop.sender import Sender, expression, search_message

pytestmark = pytest.mark.django_db

ROOT = "/api/v1/interop/dci"
SPEC = Path(__file__).parent / "spec" / "social_api_v1.0.0.yaml"
ROOT_DIR = Path(__file__).resolve().parents[2]
# The spec's samples in ../shared beside the main checkout (a helper's worktree sits one level deeper), or DCI_SAMPLES.
SAMPLES = Path(
    os.environ.get("DCI_SAMPLES")
    or next(
        (
            str(p / "data/dci/spdci/samples/social")
            for p in (ROOT_DIR.parent / "shared", ROOT_DIR.parent.parent / "shared")
            if (p / "data/dci").is_dir()
        ),
        "/work/shared/data/dci/spdci/samples/social",
    )
)
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/dci is not beside this checkout")


@pytest.fixture(scope="module")
def schema():
    return schemathesis.openapi.from_path(str(SPEC))


def validate(schema, template: str, response) -> None:
    wrapped = Response(
        status_code=response.status_code,
        headers={key.lower(): [value] for key, value in response.headers.items()},
        content=response.content,
        request=requests.Request("POST", f"http://testserver{ROOT}{template}").prepare(),
        elapsed=0.0,
        verify=True,
    )
    schema[template]["POST"].validate_response(wrapped)


@pytest.fixture
def population(db):
    for size in (1, 3, 6):
        household = HouseholdFactory()
        for index in range(size):
            MembershipFactory(
                household=household, individual=IndividualFactory(), role="head" if index == 0 else "child"
            )


def sample_requests() -> list[Path]:
    return sorted(SAMPLES.glob("processflow*req.json"))


@needs_samples
def test_the_samples_are_there():
    assert len(sample_requests()) >= 6


@needs_samples
@pytest.mark.parametrize("path", sample_requests(), ids=lambda p: p.stem)
def test_each_sample_request_gets_a_schema_valid_answer(schema, make_sender, post, population, path):
    """The samples as the spec gives them, with our ids in the header (each sample reuses one message_id and
    names SP-System/SR) and a real signature in place of the placeholder."""
    sample = json.loads(path.read_text())
    sender = make_sender(sample["header"]["sender_id"])
    header = {**sample["header"], "message_id": uuid.uuid4().hex, "receiver_id": "spmis"}
    response = post("/sync/search", sender.envelope(sample["message"], header=header))
    assert response.status_code == 200, response.content
    validate(schema, "/registry/sync/search", response)
    entries = response.json()["message"]["search_response"]
    assert len(entries) == len(sample["message"]["search_request"])
    assert all(e["status"] in ("succ", "rjct") for e in entries)


@needs_samples
def test_samples_we_can_answer_are_answered(make_sender, post, population):
    """Search by group size (processflow1-2) succeeds; poverty score (1-1) is no attribute of this registry."""
    sender = make_sender("SP-System")
    outcomes = {}
    for name in ("processflow1-1req", "processflow1-2req"):
        sample = json.loads((SAMPLES / f"{name}.json").read_text())
        header = {**sample["header"], "message_id": uuid.uuid4().hex, "receiver_id": "spmis"}
        entry = post("/sync/search", sender.envelope(sample["message"], header=header)).json()["message"]
        outcomes[name] = entry["search_response"][0]
    assert outcomes["processflow1-2req"]["status"] == "succ"
    assert outcomes["processflow1-2req"]["pagination"]["total_count"] == 2  # households of 1 and 3 (< 5)
    assert outcomes["processflow1-1req"]["status_reason_code"] == "rjct.search_criteria.invalid"


def test_acks_statuses_and_errors_match_the_spec(
    schema, make_sender, post, population, django_capture_on_commit_callbacks
):
    sender = make_sender(hosts=["partner.example.org"])
    message = search_message(expression("household_size", "ge", 1))
    header = sender.header(sender_uri="https://partner.example.org/registry/on-search")
    # The callback itself is not sent here (no such host): only the acknowledgement is checked.
    ack = post("/search", sender.envelope(message, header=header))
    assert ack.status_code == 202
    validate(schema, "/registry/search", ack)
    status_message = {
        "transaction_id": "t-status",
        "txnstatus_request": {
            "reference_id": "s1",
            "txn_type": "search",
            "attribute_type": "transaction_id",
            "attribute_value": message["transaction_id"],
        },
    }
    status = post("/sync/txn/status", sender.envelope(status_message, action="txn-status"))
    assert status.status_code == 200
    validate(schema, "/registry/sync/txn/status", status)
    for response in (
        post("/sync/search", {"header": {}, "message": {}}),  # unsigned: 401
        post("/sync/search", Sender("nobody").envelope(message)),  # unknown sender: 403
    ):
        assert response.status_code in (401, 403)
        validate(schema, "/registry/sync/search", response)


@pytest.mark.parametrize("template", ["/registry/sync/search", "/registry/sync/txn/status"])
def test_generated_requests_signed_are_answered_in_the_spec_shapes(schema, make_sender, population, template):
    from rest_framework.test import APIClient

    sender = make_sender()
    client = APIClient()
    operation = schema[template]["POST"]
    seen = set()

    @given(case=operation.as_strategy(media_type="application/json"))
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("header"), dict):
            body["header"].update(sender_id=sender.sender_id, receiver_id="spmis", message_id=uuid.uuid4().hex)
            body["signature"] = sender.signature(body["header"], body.get("message"))
        before = DCITransaction.objects.count()
        response = client.post(ROOT + template, data=json.dumps(body), content_type="application/json")
        assert response.status_code < 500, response.content
        validate(schema, template, response)
        seen.add(response.status_code)
        if response.status_code >= 400:
            assert DCITransaction.objects.count() == before

    check()
    assert seen
