"""Writes of the CRVS client: sources, subscriptions (subscribe out, on-subscribe in) and notified events.

No HTTP call runs inside a transaction: a subscription row is committed as "requested" before the message leaves,
and the CRVS's answer (an acknowledgement now, the subscription code later by on-subscribe) moves it on. A notify
message is verified and validated as a whole before anything is written; then each event is stored once, with its
change request or the reason it was not matched, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from interop.crvs import signing
from interop.crvs.keys import signing_key
from interop.crvs.models import CrvsEvent, CrvsSource, CrvsSubscription
from interop.crvs.signing import CrvsError
from registry.models import ChangeRequest, IdDocument, IdType, Individual, Membership
from registry.services import change_request_file

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENTS = 1000
# The registry event types we subscribe with (RegistryEventType examples of the SPDCI CRVS API), and the codes a
# notification may carry for them (those, or the vital event codes cd.com.04).
REG_EVENT_TYPES = {
    CrvsSubscription.Event.BIRTH: "spdci-common:RegistryEventType:LiveBirth",
    CrvsSubscription.Event.DEATH: "spdci-common:RegistryEventType:Death",
}
EVENT_BY_CODE = {
    **{value.lower(): key for key, value in REG_EVENT_TYPES.items()},
    "live_birth": CrvsSubscription.Event.BIRTH,
    "livebirth": CrvsSubscription.Event.BIRTH,
    "birth": CrvsSubscription.Event.BIRTH,
    "death": CrvsSubscription.Event.DEATH,
}
SEX = {"female": "F", "male": "M", "f": "F", "m": "M"}


def _now_iso() -> str:
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------------------
# Sources


@transaction.atomic(durable=True)
def crvs_source_create(
    *,
    code: str,
    name: str,
    base_url: str,
    our_sender_id: str,
    crvs_sender_id: str,
    jwks: dict,
    national_id_type: str = "national_id",
    birth_id_type: str = "",
) -> CrvsSource:
    """Register a CRVS with its own service user (no password, no areas: national), which submits the change
    requests its events propose and alone may deliver its messages."""
    keys = (jwks or {}).get("keys") if isinstance(jwks, dict) else None
    if not keys or not isinstance(keys, list):
        raise ValidationError({"jwks": 'Give the CRVS\'s public keys as a JWKS ({"keys": [...]}).'})
    for jwk in keys:
        if not isinstance(jwk, dict) or not jwk.get("kid"):
            raise ValidationError({"jwks": "Every key needs a kid."})
        try:
            signing.public_key({"keys": [jwk]}, jwk["kid"], crvs_sender_id)
        except CrvsError as error:
            raise ValidationError({"jwks": error.message}) from None
    user = crvs_service_user_create(code=code)
    source = CrvsSource(
        code=code,
        name=name,
        base_url=base_url.rstrip("/"),
        our_sender_id=our_sender_id,
        crvs_sender_id=crvs_sender_id,
        jwks=jwks,
        national_id_type=national_id_type,
        birth_id_type=birth_id_type,
        service_user=user,
    )
    source.full_clean(exclude=["service_user"])
    source.save()
    return source


def crvs_service_user_create(*, code: str):
    """A source's service user: no password (it signs in by signature only), no areas (national), and only the
    permission to deliver CRVS messages."""
    user = get_user_model().objects.create(username=f"crvs-{code}", is_active=True)
    user.set_unusable_password()
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="deliver_crvssource", content_type__app_label="interop"))
    return user


# ---------------------------------------------------------------------------------------------------------------
# Outgoing: the signed envelope and subscribe


def envelope(*, source: CrvsSource, action: str, message: dict, total_count: int = 1) -> dict:
    """A signed {signature, header, message} from us to the source."""
    header = {
        "version": "1.0.0",
        "message_id": str(uuid.uuid4()),
        "message_ts": _now_iso(),
        "action": action,
        "sender_id": source.our_sender_id,
        "sender_uri": callback_url("on-subscribe"),
        "receiver_id": source.crvs_sender_id,
        "total_count": total_count,
        "is_msg_encrypted": False,
    }
    key = signing_key()
    signature = signing.sign(header, message, sender_id=source.our_sender_id, kid=key.kid, private_key=key.private_key)
    return {"signature": signature, "header": header, "message": message}


def callback_url(action: str) -> str:
    base = getattr(settings, "SPMIS_CRVS_CALLBACK_BASE", None) or settings.SPMIS_CREDENTIAL_ISSUER
    return f"{base.rstrip('/')}/api/v1/interop/crvs/{action}"


def _subscribe_message(subscription: CrvsSubscription) -> dict:
    return {
        "transaction_id": subscription.transaction_id,
        "subscribe_request": [
            {
                "reference_id": subscription.reference_id,
                "timestamp": _now_iso(),
                "subscribe_criteria": {
                    "version": "1.0.0",
                    "reg_type": "ns:org:RegistryType:Civil",
                    "reg_event_type": REG_EVENT_TYPES[subscription.event],
                    "filter_type": "expression",
                    # Every event registered from today on; the country decides what a CRVS may share with us.
                    "filter": [
                        {
                            "seq_num": 1,
                            "expression1": {
                                "attribute_name": "registration_date",
                                "operator": "ge",
                                "attribute_value": timezone.localdate().isoformat(),
                            },
                        }
                    ],
                    "notify_record_type": "spdci-extensions-dci:Person",
                },
            }
        ],
    }


def _post(url: str, body: dict, *, timeout: float) -> tuple[int, Any]:
    import urllib3

    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=False)
    try:
        response = http.request(
            "POST", url, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
    except urllib3.exceptions.HTTPError as error:
        return 0, f"{type(error).__name__}"
    try:
        return response.status, json.loads(response.data or b"null")
    except ValueError:
        return response.status, None


def crvs_subscribe(*, source_id: int, events: list[str], user=None, timeout: float = 20.0) -> list[CrvsSubscription]:
    """Subscribe to birth and/or death events at a source: one signed subscribe message per event, POSTed to
    {base_url}/registry/subscribe. An acknowledged subscription waits as "requested" for the CRVS's on-subscribe
    callback; a refusal or no answer leaves it "failed" with the words why. An event already subscribed (active) is
    not asked again."""
    unknown = set(events) - set(CrvsSubscription.Event.values)
    if unknown or not events:
        raise ValidationError({"events": f"Choose among {', '.join(CrvsSubscription.Event.values)}."})
    source = CrvsSource.objects.filter(pk=source_id, active=True).first()
    if source is None:
        raise ValidationError({"source": "No such active CRVS source."})
    rows = []
    for event in dict.fromkeys(events):
        if source.subscriptions.filter(event=event, status=CrvsSubscription.Status.ACTIVE).exists():
            continue
        with transaction.atomic(durable=True):
            rows.append(
                CrvsSubscription.objects.create(
                    source=source,
                    event=event,
                    transaction_id=str(uuid.uuid4()),
                    reference_id=str(uuid.uuid4()),
                    message_id="",
                    requested_by=user,
                )
            )
    for subscription in rows:
        body = envelope(source=source, action="subscribe", message=_subscribe_message(subscription))
        status, answer = _post(f"{source.base_url}/registry/subscribe", body, timeout=timeout)
        ack = (answer or {}).get("message", {}) if isinstance(answer, dict) else {}
        fields = {"message_id": body["header"]["message_id"]}
        if status == 0:
            fields |= {"status": CrvsSubscription.Status.FAILED, "error": f"The CRVS did not answer ({answer})."}
        elif status >= 400 or not isinstance(ack, dict) or ack.get("ack_status") not in ("ACK", "NACK"):
            error = ack.get("error") if isinstance(ack, dict) else None
            words = error.get("message") if isinstance(error, dict) else ""
            fields |= {"status": CrvsSubscription.Status.FAILED, "error": f"HTTP {status}: {words or answer}"[:2000]}
        CrvsSubscription.objects.filter(pk=subscription.pk).update(**fields)
        subscription.refresh_from_db()
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Incoming: verify the envelope


@dataclass
class Envelope:
    source: CrvsSource
    header: dict
    message: dict


def envelope_open(body: bytes, *, action: str) -> Envelope:
    """Parse and verify a message from a CRVS; refuses (CrvsError) before anything is written."""
    if len(body) > MAX_BODY_BYTES:
        raise CrvsError("err.request.bad", f"The message is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.", 413)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CrvsError("err.request.bad", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise CrvsError("err.request.bad", "The body must be an object {signature, header, message}.")
    header, message = data.get("header"), data.get("message")
    if not isinstance(header, dict):
        raise CrvsError("err.request.bad", "header is missing or not an object.")
    if not isinstance(message, dict):
        raise CrvsError("err.request.bad", "message is missing or not an object.")
    if header.get("action") != action:
        raise CrvsError("err.request.bad", f'header.action must be "{action}" here.')
    if header.get("is_msg_encrypted") is True:
        raise CrvsError("err.encryption.invalid", "Encrypted messages are not accepted; send the message signed.")
    signature = signing.parse(data.get("signature"))
    sender_id = header.get("sender_id")
    source = CrvsSource.objects.select_related("service_user").filter(crvs_sender_id=sender_id, active=True).first()
    if not isinstance(sender_id, str) or source is None:
        raise CrvsError("err.sender_id.invalid", f"{sender_id!r} is not a CRVS registered here.", 401)
    if signature.sender_id != sender_id:
        raise CrvsError("err.signature.invalid", "The signature's kidId names another sender than the header.", 401)
    signing.verify(signature, header, message, signing.public_key(source.jwks, signature.kid, sender_id))
    if header.get("receiver_id") not in (None, "", source.our_sender_id):
        raise CrvsError("err.receiver_id.invalid", f"receiver_id must be {source.our_sender_id!r} (us).")
    return Envelope(source, header, message)


def ack(correlation_id: str, *, status: str = "ACK", error: dict | None = None) -> dict:
    body: dict = {"ack_status": status, "timestamp": _now_iso(), "correlation_id": correlation_id}
    if error:
        body["error"] = error
    return {"message": body}


# ---------------------------------------------------------------------------------------------------------------
# on-subscribe


@transaction.atomic(durable=True)
def crvs_on_subscribe(*, env: Envelope) -> list[CrvsSubscription]:
    """The CRVS's answer to our subscribe: the subscription codes (succ) or the reason (rjct)."""
    answers = env.message.get("subscribe_response")
    if not isinstance(answers, list) or not answers:
        raise CrvsError("err.request.bad", "message.subscribe_response must be a non-empty list.")
    transaction_id = env.message.get("transaction_id")
    updated = []
    for index, answer in enumerate(answers):
        where = f"subscribe_response[{index}]"
        if not isinstance(answer, dict):
            raise CrvsError("err.request.bad", f"{where} is not an object.")
        subscription = (
            CrvsSubscription.objects.select_for_update()
            .filter(source=env.source, transaction_id=transaction_id, reference_id=answer.get("reference_id"))
            .first()
        )
        if subscription is None:
            raise CrvsError(
                "err.request.bad", f"{where}: no subscription of ours has this transaction_id and reference_id."
            )
        status = answer.get("status")
        if status == "succ":
            codes = [s.get("code") for s in answer.get("subscriptions") or [] if isinstance(s, dict)]
            if not codes or not isinstance(codes[0], str) or not codes[0]:
                raise CrvsError("err.request.bad", f"{where}.subscriptions[0].code is missing.")
            subscription.code, subscription.status = codes[0][:99], CrvsSubscription.Status.ACTIVE
        elif status == "rjct":
            subscription.status = CrvsSubscription.Status.REJECTED
            subscription.error = f"{answer.get('status_reason_code', '')} {answer.get('status_reason_message', '')}"
        else:
            raise CrvsError("err.request.bad", f'{where}.status must be "succ" or "rjct".')
        subscription.answered_at = timezone.now()
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            raise CrvsError("err.request.bad", f"{where}: subscription code {subscription.code} is used already.")
        updated.append(subscription)
    return updated


# ---------------------------------------------------------------------------------------------------------------
# notify


@dataclass
class Notified:
    event_id: str
    subscription: CrvsSubscription
    record: dict
    timestamp: str


def _records(data: dict) -> list:
    records = data.get("reg_records")
    if isinstance(records, dict):
        return [records]
    return records if isinstance(records, list) else []


def _validate_notify(env: Envelope) -> list[Notified]:
    message = env.message
    if not isinstance(message.get("transaction_id"), str | int):
        raise CrvsError("err.request.bad", "message.transaction_id is missing.")
    events = message.get("notify_event")
    if not isinstance(events, list) or not events:
        raise CrvsError("err.request.bad", "message.notify_event must be a non-empty list.")
    if len(events) > MAX_EVENTS:
        raise CrvsError("err.request.bad", f"At most {MAX_EVENTS} events per message.")
    meta = env.header.get("meta") if isinstance(env.header.get("meta"), dict) else {}
    live = {s.code: s for s in env.source.subscriptions.filter(status=CrvsSubscription.Status.ACTIVE)}
    by_event = {s.event: s for s in live.values()}
    seen: set[str] = set()
    notified = []
    for index, item in enumerate(events):
        where = f"notify_event[{index}]"
        if not isinstance(item, dict):
            raise CrvsError("err.request.bad", f"{where} is not an object.")
        event_id = item.get("reference_id")
        if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 99:
            raise CrvsError("err.request.bad", f"{where}.reference_id (the event's id) is missing or too long.")
        if event_id in seen:
            raise CrvsError("err.request.bad", f"{where}.reference_id {event_id} appears twice in the message.")
        seen.add(event_id)
        if not isinstance(item.get("timestamp"), str):
            raise CrvsError("err.request.bad", f"{where}.timestamp is missing.")
        data = item.get("data")
        if not isinstance(data, dict):
            raise CrvsError("err.request.bad", f"{where}.data is missing or not an object.")
        records = _records(data)
        if len(records) != 1 or not isinstance(records[0], dict):
            raise CrvsError("err.request.bad", f"{where}.data.reg_records must hold exactly one person record.")
        code = item.get("subscription_code") or meta.get("subscription_code")
        if code:
            subscription = live.get(code)
            if subscription is None:
                raise CrvsError("err.request.bad", f"{where}: subscription {code} is not an active subscription here.")
        else:
            kind = EVENT_BY_CODE.get(str(data.get("reg_event_type") or "").lower())
            if kind is None:
                raise CrvsError(
                    "err.request.bad",
                    f"{where}: name the subscription (subscription_code) or the event (data.reg_event_type).",
                )
            subscription = by_event.get(kind)
            if subscription is None:
                raise CrvsError("err.request.bad", f"{where}: we hold no active subscription to {kind} events.")
        notified.append(Notified(event_id.strip(), subscription, records[0], item["timestamp"]))
    return notified


def _identifiers(record: Any) -> list[tuple[str, str]]:
    """(type, value) pairs of a person record: the sample's `identifier` list, the schema's flat pair, or a parent
    reference ({identifier_type, identifier_value | identifier})."""
    if not isinstance(record, dict):
        return []
    found = []
    items = record.get("identifier") if isinstance(record.get("identifier"), list) else [record]
    for item in items:
        if isinstance(item, dict):
            value = item.get("identifier_value", item.get("identifier"))
            if isinstance(value, str | int) and str(value).strip():
                found.append((str(item.get("identifier_type") or "").upper(), str(value).strip()))
    return found


def _people(source: CrvsSource, identifiers: list[tuple[str, str]]) -> set[int]:
    """Registrants carrying any of the identifiers: a UIN as our national ID type, any value as a registrant ID."""
    found: set[int] = set()
    for kind, value in identifiers:
        if kind == "UIN":
            found.update(
                IdDocument.objects.filter(id_type__code=source.national_id_type, number=value).values_list(
                    "individual_id", flat=True
                )
            )
        found.update(Individual.objects.filter(registrant_id=value).values_list("pk", flat=True))
    # A merged duplicate counts as the person it was merged into.
    merged = dict(Individual.objects.filter(pk__in=found).values_list("pk", "merged_into_id"))
    return {merged.get(pk) or pk for pk in found}


def _date(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


@dataclass
class Proposal:
    outcome: str
    reason: str = ""
    kind: str = ""
    individual_id: int | None = None
    household_id: int | None = None
    payload: dict | None = None
    occurred_on: str | None = None


def _propose_death(source: CrvsSource, record: dict) -> Proposal:
    identifiers = _identifiers(record)
    death_date = _date(record.get("death_date") or record.get("deathdate"))
    people = _people(source, identifiers)
    listed = ", ".join(f"{kind or '?'} {value}" for kind, value in identifiers) or "no identifiers"
    if not people:
        return Proposal(
            CrvsEvent.Outcome.UNMATCHED, f"Nobody on the registry carries {listed}.", occurred_on=death_date
        )
    if len(people) > 1:
        return Proposal(
            CrvsEvent.Outcome.UNMATCHED, f"{listed} point to {len(people)} registrants.", occurred_on=death_date
        )
    reference = next((value for kind, value in identifiers if kind == "DRN"), "")
    return Proposal(
        CrvsEvent.Outcome.PROPOSED,
        kind=ChangeRequest.Kind.DEATH,
        individual_id=people.pop(),
        payload={"death_date": death_date, "reference": f"CRVS {source.code} {reference}".strip()},
        occurred_on=death_date,
    )


def _propose_birth(source: CrvsSource, record: dict) -> Proposal:
    birth_date = _date(record.get("birth_date") or record.get("birthdate"))
    parents = [*_identifiers(record.get("parent1_identifier")), *_identifiers(record.get("parent2_identifier"))]
    people = _people(source, parents)
    households = set(
        Membership.objects.filter(individual_id__in=people, end_date__isnull=True).values_list(
            "household_id", flat=True
        )
    )
    listed = ", ".join(f"{kind or '?'} {value}" for kind, value in parents) or "no parent identifiers"
    if not households:
        return Proposal(
            CrvsEvent.Outcome.UNMATCHED, f"No parent in a household on the registry ({listed}).", occurred_on=birth_date
        )
    if len(households) > 1:
        return Proposal(
            CrvsEvent.Outcome.UNMATCHED,
            f"The parents ({listed}) belong to {len(households)} households.",
            occurred_on=birth_date,
        )
    name = record.get("name") if isinstance(record.get("name"), dict) else {}
    documents = []
    known = set(
        IdType.objects.filter(code__in=[source.birth_id_type, source.national_id_type]).values_list("code", flat=True)
    )
    for kind, value in _identifiers(record):
        if kind == "BRN" and source.birth_id_type:
            documents.append({"id_type": source.birth_id_type, "number": value})
        elif kind == "UIN":
            documents.append({"id_type": source.national_id_type, "number": value})
    reference = next((value for kind, value in _identifiers(record) if kind == "BRN"), "")
    # Only documents of ID types configured here: an unknown type would refuse the whole birth.
    documents = [d for d in documents if d["id_type"] in known]
    return Proposal(
        CrvsEvent.Outcome.PROPOSED,
        kind=ChangeRequest.Kind.BIRTH,
        household_id=households.pop(),
        payload={
            "given_name": name.get("given_name", ""),
            "family_name": name.get("surname") or name.get("sur_name") or "",
            "sex": SEX.get(str(record.get("sex") or "").lower(), Individual.Sex.OTHER),
            "birth_date": birth_date,
            "role": Membership.Role.CHILD,
            "documents": documents,
            "reference": f"CRVS {source.code} {reference}".strip(),
        },
        occurred_on=birth_date,
    )


def _words(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(getattr(error, "messages", [str(error)]))


@dataclass
class NotifyResult:
    stored: list[CrvsEvent]
    duplicates: list[str]


@transaction.atomic(durable=True)
def crvs_notify_receive(*, env: Envelope) -> NotifyResult:
    """Store each notified event once and propose its change (or say why not). Redelivered events change nothing."""
    notified = _validate_notify(env)
    source = env.source
    existing = set(
        CrvsEvent.objects.filter(source=source, event_id__in=[n.event_id for n in notified]).values_list(
            "event_id", flat=True
        )
    )
    stored, duplicates = [], sorted(existing)
    for item in notified:
        if item.event_id in existing:
            continue
        propose = _propose_death if item.subscription.event == CrvsSubscription.Event.DEATH else _propose_birth
        proposal = propose(source, item.record)
        event = CrvsEvent(
            source=source,
            subscription=item.subscription,
            event_id=item.event_id,
            event=item.subscription.event,
            message_id=str(env.header.get("message_id") or "")[:99],
            occurred_on=proposal.occurred_on,
            record=item.record,
            outcome=proposal.outcome,
            reason=proposal.reason,
            individual_id=proposal.individual_id,
            household_id=proposal.household_id,
        )
        try:
            # One savepoint per event: a concurrent delivery of the same event loses on the unique constraint
            # and takes its change request with it.
            with transaction.atomic():
                if proposal.outcome == CrvsEvent.Outcome.PROPOSED:
                    try:  # change_request_file is atomic itself: a refusal leaves nothing of the request
                        event.change_request = change_request_file(
                            user=source.service_user,
                            kind=proposal.kind,
                            household_id=proposal.household_id,
                            individual_id=proposal.individual_id,
                            payload=proposal.payload,
                        )
                    except (ValidationError, PermissionDenied) as error:
                        event.outcome, event.reason = CrvsEvent.Outcome.REFUSED, _words(error)
                event.save()
        except IntegrityError:
            duplicates.append(item.event_id)
            continue
        stored.append(event)
    return NotifyResult(stored, duplicates)


__all__ = [
    "Envelope",
    "ack",
    "callback_url",
    "crvs_notify_receive",
    "crvs_on_subscribe",
    "crvs_source_create",
    "crvs_subscribe",
    "envelope",
    "envelope_open",
]
