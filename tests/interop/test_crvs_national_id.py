"""National ID verification through the HTTP JSON adapter, against a stand-in ID system on loopback: match, no
match and timeout each give a clear recorded result; off by default; scoped and needing personal-data rights."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from interop.crvs.models import IdVerification
from registry.models import IdDocument, IdType
from spmis.core.models import AuditEvent
from tests.factories import IndividualFactory, MembershipFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/interop/id-verifications/"
HELD = {"1990123456": ("Amina", "Begum")}  # what the stand-in ID system holds: number -> (given, family)


class IdSystem:
    """Answers {"match": ...} for held numbers with the same names; sleeps past the timeout for "slow" numbers."""

    def __init__(self):
        self.asked: list[dict] = []
        system = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                query = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                system.asked.append({**query, "authorization": self.headers.get("Authorization")})
                if query["id_number"].startswith("9"):
                    time.sleep(3)
                held = HELD.get(query["id_number"])
                if query["id_number"].startswith("5"):
                    status, answer = 400, {"reason": "Unknown document type"}
                elif held == (query["given_name"], query["family_name"]):
                    status, answer = 200, {"match": True, "reference": "NID-CHK-1"}
                else:
                    status, answer = 200, {"match": False, "reason": "Names or number do not match the ID record."}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/verify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def id_system(settings):
    system = IdSystem()
    settings.SPMIS_ID_VERIFICATION_ADAPTER = "interop.national_id.HttpJsonAdapter"
    settings.SPMIS_ID_VERIFICATION_URL = system.url
    settings.SPMIS_ID_VERIFICATION_TIMEOUT_S = 1
    settings.SPMIS_ID_VERIFICATION_TOKEN = "secret-token"
    yield system
    system.close()


def _document(number: str, given="Amina", family="Begum") -> IdDocument:
    person = IndividualFactory(given_name=given, family_name=family, birth_date="1990-01-02", sex="F")
    MembershipFactory(individual=person)
    kind, _ = IdType.objects.get_or_create(code="national_id", defaults={"name": "National ID"})
    return IdDocument.objects.create(individual=person, id_type=kind, number=number)


@pytest.mark.parametrize(
    ("number", "given", "result", "words"),
    [
        ("1990123456", "Amina", "match", "holds this document"),
        ("1990123456", "Rina", "no_match", "do not match"),
        ("9000000000", "Amina", "unavailable", "did not answer within 1 s"),
        ("5000000000", "Amina", "error", "Unknown document type"),
    ],
)
def test_each_answer_is_recorded_with_words(id_system, client_for, number, given, result, words):
    document = _document(number, given=given)
    officer = client_for(roles=["program_officer"])
    response = officer.post(URL, {"document": document.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["result"], body["individual"], body["requested_by"]) == (
        result,
        document.individual_id,
        officer.user.username,
    )
    assert words in body["reason"] and body["answered_at"] and body["adapter"] == "http-json"
    row = IdVerification.objects.get()
    assert row.result == result and row.duration_ms is not None
    asked = id_system.asked[0]
    assert (asked["id_type"], asked["id_number"], asked["birth_date"]) == ("national_id", number, "1990-01-02")
    assert asked["authorization"] == "Bearer secret-token"
    assert AuditEvent.objects.filter(table_name="interop_idverification", row_id=str(row.pk)).exists()
    listed = officer.get(f"{URL}?individual={document.individual_id}").json()["results"]
    assert [r["id"] for r in listed] == [row.pk]


def test_off_by_default_and_refused_with_words(client_for):
    document = _document("1990123456")
    response = client_for(roles=["program_officer"]).post(URL, {"document": document.pk}, format="json")
    assert response.status_code == 400 and "not configured" in response.json()["document"][0]
    assert not IdVerification.objects.exists()


def test_scoped_and_needs_rights(id_system, client_for, two_districts):
    _, _west, east = two_districts
    document = _document("1990123456")  # in the west district
    outside = client_for(roles=["program_officer"], areas=[east])
    response = outside.post(URL, {"document": document.pk}, format="json")
    assert response.status_code == 400 and "in your areas" in response.json()["document"][0]
    assert client_for(roles=["auditor"]).post(URL, {"document": document.pk}, format="json").status_code == 403
    assert client_for(roles=["program_officer"]).post(URL, {"document": 0, "x": 1}, format="json").status_code == 400
    assert not IdVerification.objects.exists() and not id_system.asked
