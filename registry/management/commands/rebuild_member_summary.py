from django.core.management.base import BaseCommand

from registry.services import household_members_rebuild


class Command(BaseCommand):
    help = (
        "Recount the per-household member summary (registry_household_members) from the memberships. Writers to "
        "memberships and individuals wait while it runs."
    )

    def handle(self, *args, **options):
        households = household_members_rebuild()
        self.stdout.write(f"Member summary rebuilt: {households} households with members.")
