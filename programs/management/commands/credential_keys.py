"""The issuer's credential keys (docs/credentials.md): `rotate` puts a new key first in the key file, `show` lists
the keys (public parts only)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from programs.credentials import keys


class Command(BaseCommand):
    help = "Show or rotate the credential signing keys in SPMIS_CREDENTIAL_KEYS_FILE (or --file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["show", "rotate"])
        parser.add_argument("--file", help="Key file (default: settings.SPMIS_CREDENTIAL_KEYS_FILE).")
        parser.add_argument("--alg", choices=keys.ALGORITHMS, default="EdDSA")
        parser.add_argument("--kid", help="Key id of the new key (default: <alg>-<date>).")

    def handle(self, *args, action: str, file: str | None, alg: str, kid: str | None, **options) -> None:
        path = file or settings.SPMIS_CREDENTIAL_KEYS_FILE
        if action == "show":
            listed = keys.read_key_file(path) if path else keys.issuer_keys()
            for position, key in enumerate(listed):
                role = "signs" if position == 0 else "verifies"
                self.stdout.write(f"{key.kid}\t{key.alg}\t{role}")
            return
        if not path:
            raise CommandError("No key file: set SPMIS_CREDENTIAL_KEYS_FILE or pass --file.")
        kid = kid or f"{alg.lower()}-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}"
        try:
            new = keys.rotate_key_file(path, kid=kid, alg=alg)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{new.kid} now signs; older keys in {path} still verify.")
