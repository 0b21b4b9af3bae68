"""DCI use cases: search and transaction status, answered at once (sync) or by a callback (async).

Every request that passes the envelope checks is recorded as a DCITransaction before it is answered; its
message_id is unique per sender, so a replay is refused (409) and changes nothing. No HTTP call happens inside a
transaction: an async request commits its row, then the delivery task searches, signs and POSTs, and records the
outcome on the row.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from interop.dci import envelope, keys
from interop.dci.envelope import DCIError
from interop.dci.models import DCISender, DCITransaction
from interop.dci.search import now_iso, search_item
from interop.dci.senders import Envelope, callback_host_check
from spmis.core.tasks import enqueue_on_commit

MAX_SEARCH_ITEMS = 10
CALLBACK_TIMEOUT_S = 10
REPLY_ACTIONS = {"search": "on-search", "txn-status": "txn-on-status"}


# -- checking the message -----------------------------------------------------------------------------------------


def _transaction_id(message: dict) -> str:
    value = message.get("transaction_id", "")
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 99:
        raise DCIError("err.request.bad", "message.transaction_id must be a string of at most 99 characters.", 400)
    return str(value)


def search_message_check(message: dict) -> list:
    _transaction_id(message)
    items = message.get("search_request")
    if not isinstance(items, list) or not items:
        raise DCIError("err.request.bad", "message.search_request must be a non-empty list.", 400)
    if len(items) > MAX_SEARCH_ITEMS:
        raise DCIError("err.request.bad", f"message.search_request holds at most {MAX_SEARCH_ITEMS} requests.", 400)
    references = [str(i.get("reference_id", "")) for i in items if isinstance(i, dict)]
    named = [r for r in references if r]
    if len(named) != len(set(named)):
        raise DCIError("err.request.bad", "Each search_request item needs its own reference_id.", 400)
    return items


def txn_status_message_check(message: dict) -> dict:
    _transaction_id(message)
    request = message.get("txnstatus_request")
    if not isinstance(request, dict):
        raise DCIError("err.request.bad", "message.txnstatus_request must be an object.", 400)
    if request.get("attribute_type") not in ("transaction_id", "reference_id_list", "correlation_id"):
        raise DCIError(
            "err.request.bad",
            "txnstatus_request.attribute_type is transaction_id, reference_id_list or correlation_id.",
            400,
        )
    value = request.get("attribute_value")
    if request["attribute_type"] == "reference_id_list":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise DCIError("err.request.bad", "attribute_value must be a list of reference ids.", 400)
    elif not isinstance(value, str) or not value or len(value) > 99:
        raise DCIError("err.request.bad", "attribute_value must be a string of 1 to 99 characters.", 400)
    return request


def _consents(items: list, sender: DCISender) -> list[dict]:
    consents = []
    for item in items:
        if not isinstance(item, dict):
            continue
        criteria = item.get("search_criteria") if isinstance(item.get("search_criteria"), dict) else {}
        consent = criteria.get("consent")
        given = isinstance(consent, dict) and bool(consent)
        if sender.consent_required and not given:
            raise DCIError(
                "err.request.bad",
                f"Sender {sender.sender_id} must send a consent object with each search request "
                f"(reference_id {item.get('reference_id')!r} has none).",
                400,
            )
        consents.append({"reference_id": str(item.get("reference_id", "")), "consent": consent if given else None})
    return consents


# -- recording ----------------------------------------------------------------------------------------------------


def _record(
    env: Envelope, *, action: str, mode: str, consents: list | None = None, callback_url: str = ""
) -> DCITransaction:
    try:
        with transaction.atomic(durable=True):
            return DCITransaction.objects.create(
                sender=env.sender,
                message_id=str(env.header["message_id"]),
                action=action,
                mode=mode,
                transaction_id=_transaction_id(env.message),
                correlation_id=uuid.uuid4().hex,
                header=env.header,
                message=env.message,
                consents=consents or [],
                status=DCITransaction.Status.PENDING if mode == "async" else DCITransaction.Status.RECEIVED,
                callback_url=callback_url,
                delivery=DCITransaction.Delivery.PENDING if mode == "async" else DCITransaction.Delivery.NONE,
            )
    except IntegrityError:
        raise DCIError(
            "err.request.bad",
            f"message_id {env.header['message_id']} was already received from {env.sender.sender_id} "
            "(rjct.message_id.duplicate); send a new message_id.",
            409,
            "rjct.message_id.duplicate",
        ) from None


def _finish(row: DCITransaction, outcome: list[dict]) -> None:
    statuses = {entry["status"] for entry in outcome}
    row.status = (
        DCITransaction.Status.SUCCESS if statuses == {"succ"} or "succ" in statuses else DCITransaction.Status.REJECTED
    )
    row.outcome = [
        {
            "reference_id": entry.get("reference_id", ""),
            "status": entry["status"],
            "status_reason_code": entry.get("status_reason_code", ""),
            "status_reason_message": entry.get("status_reason_message", ""),
            "total_count": entry.get("pagination", {}).get("total_count"),
        }
        for entry in outcome
    ]
    row.completed_at = timezone.now()
    row.save(update_fields=["status", "outcome", "completed_at"])


# -- answers ------------------------------------------------------------------------------------------------------


def reply(row: DCITransaction, message: dict, *, total: int, completed: int) -> dict:
    """A signed envelope from us to the sender, answering `row`."""
    header = {
        "version": "1.0.0",
        "message_id": uuid.uuid4().hex,
        "message_ts": now_iso(),
        "action": REPLY_ACTIONS[row.action],
        "status": row.status if row.status in ("succ", "rjct") else "pdng",
        "total_count": total,
        "completed_count": completed,
        "sender_id": keys.receiver_id(),
        "receiver_id": row.sender.sender_id,
        "is_msg_encrypted": False,
    }
    key = keys.signing_key()
    signature = envelope.sign(header, message, sender_id=keys.receiver_id(), kid=key.kid, private_key=key.private_key)
    return {"signature": signature, "header": header, "message": message}


def _search_answer(row: DCITransaction) -> dict:
    user = row.sender.service_user
    outcome = [search_item(user=user, item=item) for item in row.message["search_request"]]
    _finish(row, outcome)
    message = {"transaction_id": row.transaction_id, "correlation_id": row.correlation_id, "search_response": outcome}
    done = sum(1 for entry in outcome if entry["status"] == "succ")
    return reply(row, message, total=len(outcome), completed=done)


def _status_answer(row: DCITransaction) -> dict:
    request = row.message["txnstatus_request"]
    kind, value = request["attribute_type"], request["attribute_value"]
    found = DCITransaction.objects.filter(sender=row.sender, action="search").exclude(pk=row.pk)
    if kind == "transaction_id":
        found = found.filter(transaction_id=value)
    elif kind == "correlation_id":
        found = found.filter(correlation_id=value)
    else:
        match = None
        for reference in value:
            one = found.filter(outcome__contains=[{"reference_id": reference}])
            match = one if match is None else match | one
        found = match
    target = found.order_by("-id").first()
    if target is None:
        entries = [
            {
                "reference_id": str(request.get("reference_id") or ""),
                "timestamp": now_iso(),
                "status": "rjct",
                "status_reason_code": "rjct.reference_id.invalid",
                "status_reason_message": f"No search from this sender has {kind} {value}.",
            }
        ]
        txn_status = {
            "transaction_id": str(value) if kind == "transaction_id" else "",
            "correlation_id": "",
            "search_response": entries,
        }
    else:
        entries = []
        for entry in target.outcome or [{"reference_id": "", "status": target.status}]:
            one = {
                "reference_id": entry.get("reference_id", ""),
                "timestamp": (target.completed_at or target.received_at).isoformat(timespec="milliseconds"),
                "status": entry.get("status") or target.status,
            }
            if entry.get("status_reason_code"):
                one["status_reason_code"] = entry["status_reason_code"]
                one["status_reason_message"] = entry.get("status_reason_message", "")
            entries.append(one)
        if not target.outcome:
            entries[0]["status"] = target.status
        txn_status = {
            "transaction_id": target.transaction_id,
            "correlation_id": target.correlation_id,
            "search_response": entries,
        }
    _finish(row, [{"reference_id": str(request.get("reference_id") or ""), "status": "succ"}])
    message = {
        "transaction_id": row.transaction_id,
        "correlation_id": row.correlation_id,
        "txnstatus_response": {"txn_type": "search", "txn_status": txn_status},
    }
    return reply(row, message, total=1, completed=1)


def answer(row: DCITransaction) -> dict:
    return _search_answer(row) if row.action == "search" else _status_answer(row)


# -- the use cases ------------------------------------------------------------------------------------------------


def dci_search(*, env: Envelope, asynchronous: bool) -> tuple[DCITransaction, dict | None]:
    """A search: (row, signed answer) for sync; (row, None) for async, whose answer the callback carries."""
    items = search_message_check(env.message)
    consents = _consents(items, env.sender)
    if not asynchronous:
        row = _record(env, action="search", mode="sync", consents=consents)
        return row, answer(row)
    return _record_async(env, action="search", consents=consents), None


def dci_txn_status(*, env: Envelope, asynchronous: bool) -> tuple[DCITransaction, dict | None]:
    txn_status_message_check(env.message)
    if not asynchronous:
        row = _record(env, action="txn-status", mode="sync")
        return row, answer(row)
    return _record_async(env, action="txn-status"), None


def _record_async(env: Envelope, *, action: str, consents: list | None = None) -> DCITransaction:
    url = env.header.get("sender_uri") or env.sender.callback_url
    if not url or not isinstance(url, str):
        raise DCIError(
            "err.sender_uri.invalid",
            "An asynchronous request needs header.sender_uri (or a registered callback URL).",
            400,
        )
    callback_host_check(url, env.sender.callback_hosts)
    row = _record(env, action=action, mode="async", consents=consents, callback_url=url)
    # enqueue_on_commit outside an atomic block sends at once; the row is committed already.
    enqueue_on_commit("interop.dci_deliver", row.pk)
    return row


def dci_deliver(*, transaction_pk: int) -> DCITransaction:
    """Answer an async request at its callback URL. Safe to run again: a delivered row is left alone."""
    row = DCITransaction.objects.select_related("sender__service_user").get(pk=transaction_pk)
    if row.delivery == DCITransaction.Delivery.DELIVERED:
        return row
    # The allow-list may have changed since the request: check again before calling out.
    try:
        callback_host_check(row.callback_url, row.sender.callback_hosts, field="callback")
    except DCIError as error:
        return _delivered(row, ok=False, error=error.message)
    body = answer(row)
    started = time.monotonic()
    try:
        response = requests.post(row.callback_url, json=body, timeout=CALLBACK_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as error:
        return _delivered(row, ok=False, error=f"{type(error).__name__}: {error}"[:1000])
    elapsed_ms = round((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return _delivered(row, ok=True, error="")
    return _delivered(row, ok=False, error=f"HTTP {response.status_code} after {elapsed_ms} ms: {response.text[:500]}")


def _delivered(row: DCITransaction, *, ok: bool, error: str) -> DCITransaction:
    updated = {
        "delivery": DCITransaction.Delivery.DELIVERED if ok else DCITransaction.Delivery.FAILED,
        "delivery_error": error,
    }
    DCITransaction.objects.filter(pk=row.pk).update(**updated, delivery_attempts=row.delivery_attempts + 1)
    row.refresh_from_db()
    return row


def ack(row: DCITransaction | None, *, status: str = "ACK", error: dict | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "ack_status": status,
        "timestamp": now_iso(),
        "correlation_id": row.correlation_id if row else "",
    }
    if error:
        message["error"] = error
    return {"message": message}


def sender_disable(*, sender: DCISender) -> None:
    if not sender.is_active:
        raise ValidationError({"sender_id": "The sender is already disabled."})
    DCISender.objects.filter(pk=sender.pk).update(is_active=False)
