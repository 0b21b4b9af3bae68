"""The offline card verifier page (docs/credentials.md, "For a field verifier"): public, holds no data itself; its
script and service worker are served from the page's own path so the worker's scope covers them."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from programs.credentials.models import StatusList

STATIC = Path(__file__).resolve().parent / "static" / "frontend" / "credentials"


def _messages() -> dict[str, str]:
    return {
        "valid": _("Valid card: signed by the issuer, not expired."),
        "bad_signature": _("Not valid: the code was altered or forged."),
        "unknown_key": _("Not valid: signed with a key this device does not know"),
        "unsigned": _("Not valid: the code has no signature."),
        "expired": _("Not valid: the card has expired"),
        "not_yet_valid": _("Not valid yet."),
        "revoked": _("Not valid: this card has been revoked (lost, replaced, or the person left the program)."),
        "unreadable": _("This is not a readable card code."),
        "base45": _("This is not a readable card code."),
        "decompress": _("The code is damaged."),
        "cose": _("This is not a signed card code."),
        "claim169_missing": _("The code holds no identity."),
        "unsupported_algorithm": _("The code uses a signature this device does not accept."),
        "encrypted": _(
            "This card's code is encrypted: only a verifier holding the issuer's decryption key can open it. "
            "Check it with the program office or the online check."
        ),
        "name": _("Name"),
        "id": _("Registrant ID"),
        "program": _("Program"),
        "until": _("Valid until"),
        "notRevoked": _("Not revoked, per the list fetched {m} minutes ago."),
        "statusUnknown": _("Revocation not checked: this device has no status list for the card."),
        "cached": _("Issuer keys fetched {m} minutes ago."),
        "offline": _("(offline)"),
        "noKeys": _("No issuer keys on this device yet: open this page once with a connection."),
    }


@require_GET
def verifier(request: HttpRequest) -> HttpResponse:
    lists = {
        str(pk): reverse("credential-status-list", args=[pk]) for pk in StatusList.objects.values_list("pk", flat=True)
    }
    config = {
        "jwks": reverse("credential-jwks"),
        "statusLists": lists,
        "worker": reverse("credential-verifier-sw"),
        "scope": reverse("credential-verifier"),
        "messages": _messages(),
    }
    return render(
        request,
        "frontend/credentials/verify.html",
        {"config": config, "script_url": reverse("credential-verifier-js")},
    )


def _file(name: str, content_type: str) -> HttpResponse:
    response = HttpResponse((STATIC / name).read_bytes(), content_type=content_type)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def verifier_js(request: HttpRequest) -> HttpResponse:
    return _file("verifier.js", "text/javascript")


@require_GET
def verifier_sw(request: HttpRequest) -> HttpResponse:
    response = _file("sw.js", "text/javascript")
    response["Service-Worker-Allowed"] = reverse("credential-verifier")
    return response
