"""Re-encrypt payment account numbers under the current key (the first of SPMIS_ACCOUNT_KEYS); docs/payments.md."""

from django.core.management.base import BaseCommand

from programs.payments.services import account_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt every payment account number (and proposed number) not under the current key, in chunks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--chunk", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args, chunk: int, **options) -> None:
        if chunk < 1:
            self.stderr.write("--chunk must be at least 1.")
            return
        done = account_keys_rotate(chunk=chunk)
        for table, count in done.items():
            self.stdout.write(f"{table}: {count} re-encrypted")
