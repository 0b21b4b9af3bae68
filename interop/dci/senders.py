"""Registered senders: registering one, and checking an incoming envelope against them."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from geo.models import Area, AreaScope
from interop.dci import envelope
from interop.dci.envelope import DCIError
from interop.dci.keys import receiver_id
from interop.dci.models import DCISender
from spmis.core.roles import role_group_name

MAX_BODY_BYTES = 1024 * 1024
HEADER_REQUIRED = ("message_id", "message_ts", "action", "sender_id")


def jwks_clean(jwks: Any) -> dict:
    """A sender's public key set: Ed25519 OKP keys only, each with a distinct kid, no private part."""
    if isinstance(jwks, str):
        try:
            jwks = json.loads(jwks)
        except ValueError:
            raise ValidationError({"jwks": "The key set is not JSON."}) from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValidationError({"jwks": 'The key set must be {"keys": [...]} with at least one key.'})
    keys, kids = [], set()
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or not jwk.get("kid") or not isinstance(jwk["kid"], str):
            raise ValidationError({"jwks": "Every key needs a kid."})
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValidationError({"jwks": f"Key {jwk['kid']} is not an Ed25519 (OKP) key."})
        if "d" in jwk:
            raise ValidationError({"jwks": f"Key {jwk['kid']} holds a private part; register the public key only."})
        try:
            raw = base64.urlsafe_b64decode(str(jwk.get("x", "")) + "=" * (-len(str(jwk.get("x", ""))) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValidationError({"jwks": f"Key {jwk['kid']} has no valid 32-byte x."})
        if jwk["kid"] in kids:
            raise ValidationError({"jwks": f"Key id {jwk['kid']} appears twice."})
        kids.add(jwk["kid"])
        keys.append({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": jwk["kid"]})
    return {"keys": keys}


def _host_clean(host: str) -> str:
    host = host.strip().lower()
    if not host or "/" in host or "@" in host or " " in host:
        raise ValidationError({"callback_hosts": f"{host!r} is not a host name (or host:port)."})
    return host


@transaction.atomic(durable=True)
def sender_register(
    *,
    sender_id: str,
    name: str,
    jwks: Any,
    callback_hosts: list[str] = (),
    callback_url: str = "",
    personal_data: bool = False,
    area_codes: list[str] | None = None,
    consent_required: bool = False,
) -> DCISender:
    """A new sender with its own service user (role partner, plus personal data when asked; bound to `area_codes`
    when given, national otherwise). The service user cannot sign in: it has no usable password."""
    sender_id = (sender_id or "").strip()
    if not sender_id or "|" in sender_id or len(sender_id) > 128:
        raise ValidationError({"sender_id": "A sender id is 1 to 128 characters without '|'."})
    if DCISender.objects.filter(sender_id=sender_id).exists():
        raise ValidationError({"sender_id": f"Sender {sender_id} is already registered."})
    public_keys = jwks_clean(jwks)
    hosts = [_host_clean(h) for h in callback_hosts]
    if callback_url:
        callback_host_check(callback_url, hosts, field="callback_url")
    user_model = get_user_model()
    username = f"dci:{sender_id}"[:150]
    if user_model.objects.filter(username=username).exists():
        raise ValidationError({"sender_id": f"A user named {username} already exists."})
    user = user_model(username=username)
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role_group_name("partner")))
    if personal_data:
        from django.contrib.auth.models import Permission

        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="registry", codename="view_personal_data")
        )
    if area_codes is not None:
        areas = list(Area.objects.filter(code__in=area_codes))
        unknown = sorted(set(area_codes) - {a.code for a in areas})
        if unknown:
            raise ValidationError({"area_codes": f"No such area: {', '.join(unknown)}."})
        AreaScope.objects.create(user=user).areas.set(areas)
    return DCISender.objects.create(
        sender_id=sender_id,
        name=name or sender_id,
        jwks=public_keys,
        callback_hosts=hosts,
        callback_url=callback_url,
        service_user=user,
        consent_required=consent_required,
    )


def callback_host_check(url: str, hosts: list[str], *, field: str = "sender_uri") -> str:
    """The URL when its scheme is http(s) and its host (or host:port) is on the sender's allow-list."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DCIError("err.sender_uri.invalid", f"{field} is not a URL.", 400) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise DCIError("err.sender_uri.invalid", f"{field} must be an http(s) URL with a host and no credentials.", 400)
    host = parts.hostname.lower()
    allowed = {h.lower() for h in hosts}
    if host not in allowed and (port is None or f"{host}:{port}" not in allowed):
        raise DCIError(
            "err.sender_uri.invalid",
            f"{field} host {host} is not among the callback hosts registered for the sender.",
            403,
        )
    return url


@dataclass(frozen=True)
class Envelope:
    """A verified envelope: who sent it and what it says."""

    sender: DCISender
    signature: str
    header: dict
    message: Any


def envelope_open(body: bytes, *, action: str) -> Envelope:
    """Parse and verify a request body: signature present, sender known and active, key known, signature valid
    and current, then the header's shape. Raises DCIError; reads the database, never writes."""
    if not body or not body.strip():
        raise DCIError("err.signature.missing", "The request has no body, so no signature.", 401)
    if len(body) > MAX_BODY_BYTES:
        raise DCIError("err.request.bad", f"The request is larger than {MAX_BODY_BYTES} bytes.", 413)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DCIError("err.request.bad", "The body is not JSON.", 400) from None
    if not isinstance(data, dict):
        raise DCIError("err.request.bad", "The body must be a JSON object {signature, header, message}.", 400)
    where = _unstorable(data)
    if where is not None:
        raise DCIError("err.request.bad", f"{where} holds a NUL character or a number beyond any float.", 400)
    if not data.get("signature"):
        raise DCIError("err.signature.missing", "The envelope carries no signature.", 401)
    header, message = data.get("header"), data.get("message")
    if not isinstance(header, dict):
        raise DCIError("err.request.bad", "header must be an object.", 400)
    if "message" not in data:
        raise DCIError("err.request.bad", "The envelope has no message.", 400)
    params = envelope.parse_signature(data["signature"])
    sender_id = header.get("sender_id")
    if not isinstance(sender_id, str) or not sender_id:
        raise DCIError("err.sender_id.invalid", "header.sender_id is missing.", 400)
    if params.sender_id != sender_id:
        raise DCIError(
            "err.sender_id.invalid", "The signature's kidId names another sender than header.sender_id.", 401
        )
    sender = DCISender.objects.select_related("service_user").filter(sender_id=sender_id).first()
    if sender is None or not sender.is_active or not sender.service_user.is_active:
        raise DCIError("err.sender_id.invalid", f"Sender {sender_id} is not registered here (or is disabled).", 403)
    envelope.verify(params, header, message, envelope.public_key_for(sender.jwks, params.kid, sender_id))
    header_check(header, action=action)
    if not isinstance(message, dict):
        raise DCIError("err.request.bad", "message must be an object.", 400)
    return Envelope(sender=sender, signature=data["signature"], header=header, message=message)


def _datetime(text: str):
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _unstorable(value: Any, path: str = "body") -> str | None:
    """The path of a value PostgreSQL's jsonb cannot hold (NUL characters, infinite numbers), or None."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return where
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
        elif (isinstance(item, str) and "\x00" in item) or (isinstance(item, float) and not math.isfinite(item)):
            return where
    return None


def header_check(header: dict, *, action: str) -> None:
    missing = [name for name in HEADER_REQUIRED if header.get(name) in (None, "")]
    if missing:
        raise DCIError("err.request.bad", f"header lacks {', '.join(missing)}.", 400)
    if str(header.get("version", "1.0.0")) != "1.0.0":
        raise DCIError(
            "err.version.not_supported",
            "Only version 1.0.0 of the messaging protocol is supported.",
            400,
            "rjct.version.invalid",
        )
    if not isinstance(header["message_ts"], str) or _datetime(header["message_ts"]) is None:
        raise DCIError(
            "err.request.bad", "header.message_ts must be an ISO 8601 date and time.", 400, "rjct.message_ts.invalid"
        )
    if header["action"] != action:
        raise DCIError(
            "err.request.bad", f'header.action must be "{action}" on this endpoint.', 400, "rjct.action.invalid"
        )
    message_id = header["message_id"]
    if not isinstance(message_id, str | int) or len(str(message_id)) > 128:
        raise DCIError("err.request.bad", "header.message_id must be a string of at most 128 characters.", 400)
    ours = header.get("receiver_id")
    if ours not in (None, "") and ours != receiver_id():
        raise DCIError("err.receiver_id.invalid", f"header.receiver_id must be {receiver_id()} (this registry).", 400)
    if header.get("is_msg_encrypted") in (True, "true"):
        raise DCIError(
            "err.encryption.invalid", "Encrypted messages are not supported; send is_msg_encrypted false.", 400
        )
