"""manage.py crvs_subscribe <source code> [--events death live_birth] [--jwks]"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from interop.crvs.keys import our_jwks
from interop.crvs.models import CrvsSource, CrvsSubscription
from interop.crvs.services import crvs_subscribe


class Command(BaseCommand):
    help = "Subscribe to a CRVS's birth and death events (signed subscribe; the CRVS answers by on-subscribe)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="code of the CRVS source")
        parser.add_argument(
            "--events", nargs="+", default=list(CrvsSubscription.Event.values), choices=CrvsSubscription.Event.values
        )
        parser.add_argument(
            "--jwks", action="store_true", help="print our public JWKS for the CRVS operator, then stop"
        )
        parser.add_argument("--timeout", type=float, default=20.0)

    def handle(self, *args, source: str, events: list[str], jwks: bool, timeout: float, **options):
        if jwks:
            self.stdout.write(json.dumps(our_jwks(), indent=2))
            return
        row = CrvsSource.objects.filter(code=source).first()
        if row is None:
            raise CommandError(f"No CRVS source {source!r}; add it in the admin first.")
        try:
            subscriptions = crvs_subscribe(source_id=row.pk, events=events, timeout=timeout)
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
        if not subscriptions:
            self.stdout.write("Already subscribed to every event asked for.")
        failed = False
        for subscription in subscriptions:
            line = f"{subscription.event}: {subscription.status}"
            if subscription.error:
                line += f" ({subscription.error})"
                failed = True
            self.stdout.write(line)
        if failed:
            raise CommandError("Some subscriptions were not accepted.")
