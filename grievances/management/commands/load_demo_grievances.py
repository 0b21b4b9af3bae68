from django.core.management.base import BaseCommand, CommandError

from grievances.demo import load_demo_grievances
from spmis.core.audit import audit_context


class Command(BaseCommand):
    help = "Demo grievance teams, two grievance officers (grievance, grievance2) and a few dozen tickets."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=48)

    def handle(self, *args, tickets: int, **options):
        with audit_context(actor="command:load_demo_grievances", source="command"):
            try:
                added = load_demo_grievances(tickets=tickets)
            except ValueError as error:
                raise CommandError(str(error)) from None
        self.stdout.write(f"{added} demo tickets added" if added else "Demo tickets were loaded already")
