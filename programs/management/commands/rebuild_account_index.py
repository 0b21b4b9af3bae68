"""Recompute every payment account's blind index under the current SPMIS_ACCOUNT_INDEX_KEY (docs/payments.md)."""

from django.core.management.base import BaseCommand

from programs.payments.services import account_blind_index_rebuild


class Command(BaseCommand):
    help = "Recompute the blind index of every payment account and proposed account after the index key changed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--chunk", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args, chunk: int, **options) -> None:
        if chunk < 1:
            self.stderr.write("--chunk must be at least 1.")
            return
        for table, count in account_blind_index_rebuild(chunk=chunk).items():
            self.stdout.write(f"{table}: {count} recomputed")
