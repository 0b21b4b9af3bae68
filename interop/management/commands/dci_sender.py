"""Register, list and disable DCI senders: `manage.py dci_sender register --sender-id ... --jwks keys.json`."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from interop.dci import keys
from interop.dci.models import DCISender
from interop.dci.senders import sender_register
from interop.dci.services import sender_disable


class Command(BaseCommand):
    help = "Register, list or disable systems allowed to send signed DCI requests (docs/interoperability.md)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="Register a sender with its public keys")
        register.add_argument("--sender-id", required=True, help="The sender_id its headers carry")
        register.add_argument("--name", default="", help="Who it is, in words")
        register.add_argument("--jwks", required=True, help="A file with its public JWKS (Ed25519 keys with kid)")
        register.add_argument(
            "--callback-host", action="append", default=[], help="A host (or host:port) callbacks may go to"
        )
        register.add_argument(
            "--callback-url", default="", help="Where callbacks go when a request names no sender_uri"
        )
        register.add_argument("--personal-data", action="store_true", help="Let it see names, birth dates, IDs, places")
        register.add_argument(
            "--area", action="append", default=None, help="Bind it to an area code (repeat); national otherwise"
        )
        register.add_argument("--consent-required", action="store_true", help="Refuse its searches without consent")
        sub.add_parser("list", help="List the senders")
        disable = sub.add_parser("disable", help="Refuse a sender's requests from now on")
        disable.add_argument("--sender-id", required=True)
        sub.add_parser("jwks", help="Print our own public DCI keys, for the sender to verify our answers")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "register":
            try:
                jwks = json.loads(Path(options["jwks"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--jwks: cannot read a JSON key set from {options['jwks']}: {exc}") from None
            try:
                sender = sender_register(
                    sender_id=options["sender_id"],
                    name=options["name"],
                    jwks=jwks,
                    callback_hosts=options["callback_host"],
                    callback_url=options["callback_url"],
                    personal_data=options["personal_data"],
                    area_codes=options["area"],
                    consent_required=options["consent_required"],
                )
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
            kids = ", ".join(k["kid"] for k in sender.jwks["keys"])
            self.stdout.write(
                f"Registered {sender.sender_id} (keys {kids}; service user {sender.service_user.username})"
            )
        elif action == "list":
            for sender in DCISender.objects.select_related("service_user"):
                state = "active" if sender.is_active else "disabled"
                kids = ",".join(k["kid"] for k in sender.jwks.get("keys", []))
                hosts = ",".join(sender.callback_hosts) or "-"
                self.stdout.write(f"{sender.sender_id}\t{state}\tkeys={kids}\tcallback_hosts={hosts}")
        elif action == "disable":
            sender = DCISender.objects.filter(sender_id=options["sender_id"]).first()
            if sender is None:
                raise CommandError(f"No sender {options['sender_id']}.")
            try:
                sender_disable(sender=sender)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"Disabled {sender.sender_id}")
        else:
            self.stdout.write(json.dumps(keys.jwks(), indent=1))
