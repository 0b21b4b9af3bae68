"""National ID verification: ask the country's ID system whether an individual's ID document is theirs.

Pluggable: settings.SPMIS_ID_VERIFICATION_ADAPTER names a class (dotted path) with a `verify(query) -> Answer`
method; unset (the default), verification is off and a request says so. One adapter ships: HttpJsonAdapter, which
POSTs the document and the person's particulars as JSON to SPMIS_ID_VERIFICATION_URL and reads {"match": bool,
"reason", "reference"} back (docs/interoperability.md, "National ID verification").

Every request is a row (IdVerification): written pending before the call (outside any transaction, as every call
out of spmis), completed with the answer after; a timeout or failure is recorded as "unavailable" with the words.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from interop.crvs.models import IdVerification
from registry.models import IdDocument
from registry.selectors import personal_data_allowed, scoped_individuals


@dataclass(frozen=True)
class Query:
    """What the ID system is asked: the document and the particulars it should hold."""

    id_type: str
    id_number: str
    given_name: str
    family_name: str
    birth_date: str | None
    sex: str


@dataclass(frozen=True)
class Answer:
    result: str  # one of IdVerification.Result, not pending
    reason: str = ""
    reference: str = ""


class Adapter(Protocol):
    name: str

    def verify(self, query: Query) -> Answer: ...


class HttpJsonAdapter:
    """POST {id_type, id_number, given_name, family_name, birth_date, sex} to SPMIS_ID_VERIFICATION_URL (with
    `Authorization: Bearer SPMIS_ID_VERIFICATION_TOKEN` when set); expects 200 and {"match": true|false, "reason":
    "...", "reference": "..."}. No answer within SPMIS_ID_VERIFICATION_TIMEOUT_S is "unavailable"."""

    name = "http-json"

    def __init__(self) -> None:
        self.url = getattr(settings, "SPMIS_ID_VERIFICATION_URL", None)
        if not self.url:
            raise ImproperlyConfigured("SPMIS_ID_VERIFICATION_URL is needed by the HTTP JSON ID verification adapter.")
        self.timeout = float(getattr(settings, "SPMIS_ID_VERIFICATION_TIMEOUT_S", 10))
        self.token = getattr(settings, "SPMIS_ID_VERIFICATION_TOKEN", None)

    def verify(self, query: Query) -> Answer:
        import urllib3

        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http = urllib3.PoolManager(timeout=urllib3.Timeout(total=self.timeout), retries=False)
        try:
            response = http.request("POST", self.url, body=json.dumps(asdict(query)).encode(), headers=headers)
        except urllib3.exceptions.TimeoutError:
            return Answer("unavailable", f"The ID system did not answer within {self.timeout:g} s.")
        except urllib3.exceptions.HTTPError:
            return Answer("unavailable", "The ID system could not be reached.")
        try:
            body = json.loads(response.data or b"null")
        except ValueError:
            body = None
        if response.status >= 500:
            return Answer("unavailable", f"The ID system failed (HTTP {response.status}).")
        words = str(body.get("reason") or "")[:1000] if isinstance(body, dict) else ""
        if response.status >= 400:
            return Answer("error", f"The ID system refused the question (HTTP {response.status}): {words}".strip())
        if not isinstance(body, dict) or not isinstance(body.get("match"), bool):
            return Answer("error", 'The ID system\'s answer has no "match": true or false.')
        reference = str(body.get("reference") or "")[:120]
        if body["match"]:
            return Answer("match", words or "The ID system holds this document for this person.", reference)
        return Answer("no_match", words or "The ID system does not hold this document for this person.", reference)


def adapter() -> Adapter | None:
    """The configured adapter, or None when verification is off."""
    path = getattr(settings, "SPMIS_ID_VERIFICATION_ADAPTER", None)
    if not path:
        return None
    try:
        return import_string(path)()
    except ImportError:
        raise ImproperlyConfigured(f"SPMIS_ID_VERIFICATION_ADAPTER {path!r} cannot be imported.") from None


def id_verification_request(*, user, document_id: int) -> IdVerification:
    """Check one ID document of an individual the user may see (and whose personal data they may see: the
    particulars leave for the ID system). Recorded whatever the outcome."""
    verifier = adapter()
    if verifier is None:
        raise ValidationError(
            {"document": "National ID verification is not configured here (SPMIS_ID_VERIFICATION_ADAPTER)."}
        )
    if not personal_data_allowed(user):
        raise PermissionDenied("Verifying an ID sends personal data out: it needs the personal-data permission.")
    document = IdDocument.objects.select_related("individual", "id_type").filter(pk=document_id).first()
    if document is None or not scoped_individuals(user).filter(pk=document.individual_id).exists():
        raise ValidationError({"document": "No such ID document of an individual in your areas."})
    person = document.individual
    with transaction.atomic(durable=True):
        row = IdVerification.objects.create(
            individual=person,
            document=document,
            id_type=document.id_type.code,
            adapter=getattr(verifier, "name", type(verifier).__name__),
            requested_by=user,
        )
    query = Query(
        id_type=document.id_type.code,
        id_number=document.number,
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=person.birth_date.isoformat() if person.birth_date else None,
        sex=person.sex,
    )
    started = time.monotonic()
    try:
        answer = verifier.verify(query)
    except Exception as error:  # an adapter's own failure is recorded, not lost with the row left pending
        answer = Answer("unavailable", f"The ID verification adapter failed: {type(error).__name__}.")
    if answer.result not in IdVerification.Result.values or answer.result == IdVerification.Result.PENDING:
        answer = Answer("error", f"The adapter answered {answer.result!r}, which is not a result.")
    with transaction.atomic(durable=True):
        IdVerification.objects.filter(pk=row.pk).update(
            result=answer.result,
            reason=answer.reason,
            reference=answer.reference,
            duration_ms=int((time.monotonic() - started) * 1000),
            answered_at=timezone.now(),
        )
    row.refresh_from_db()
    return row


def id_verification_list(*, user, individual_id: int | None = None) -> QuerySet[IdVerification]:
    """Checks of individuals the user may see."""
    queryset = IdVerification.objects.filter(individual__in=scoped_individuals(user).values("pk"))
    if individual_id is not None:
        queryset = queryset.filter(individual_id=individual_id)
    return queryset.select_related("requested_by")
