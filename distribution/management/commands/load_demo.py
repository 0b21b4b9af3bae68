from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from tqdm import tqdm

from distribution.demo import load_demo_facilities
from distribution.demo_dhaka import (
    INCIDENT_NAME,
    dhaka_household_count,
    load_dhaka_facilities,
    load_dhaka_households,
    load_dhaka_relief,
    load_dhaka_waterlogging,
)
from distribution.models import DistributionPoint, Warehouse
from distribution.roads.demo import load_demo_roads
from distribution.stock.demo import load_demo_stock
from geo.demo import LEVELS, demo_areas_loaded, load_bangladesh_areas
from geo.models import Area, AreaScope
from programs.demo import load_demo_program, load_demo_providers
from registry.demo import demo_household_count, load_demo_households
from spmis.core.audit import audit_context
from spmis.core.demo import demo_password
from spmis.core.roles import role_group_name, sync_roles

DEMO_USERS = {
    "coordinator": ("emergency_coordinator", None),
    "analyst": ("gis_analyst", None),
    "officer": ("program_officer", None),
    "approver": ("program_officer", None),  # a second officer: cycles are approved by someone else (four eyes)
    "finance": ("finance_officer", None),  # releases payment batches an officer prepared (four eyes)
    "logistics": ("logistics_officer", None),
    "auditor": ("auditor", None),
    "sylhet.coordinator": ("emergency_coordinator", "BD60"),  # Sylhet division
}


class Command(BaseCommand):
    help = "Load the demo: real Bangladesh boundaries, a seeded synthetic registry, facilities and demo users."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, default=50_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--chunk", type=int, default=50_000)
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="where the app will be served")
        parser.add_argument(
            "--reload-boundaries",
            action="store_true",
            help="import the boundaries again even when every demo area is already there",
        )

    def handle(self, *args, households: int, seed: int, chunk: int, url: str, verbosity: int, **options):
        quiet = verbosity == 0
        with audit_context(actor="command:load_demo", source="command"):
            self._retire_legacy_demo()
            if options["reload_boundaries"] or not demo_areas_loaded():
                with tqdm(total=LEVELS, desc="boundaries", unit="level", disable=quiet) as bar:
                    load_bangladesh_areas(progress=lambda done, message: bar.update(done - bar.n))
            else:
                # Re-importing unchanged boundaries changes nothing but re-checks every household's area.
                self.stdout.write("Demo boundaries already loaded; skipping (--reload-boundaries to import again).")
            existing = demo_household_count()
            if existing >= households:
                self.stdout.write(f"Demo registry already loaded ({existing:,} households); skipping.")
            else:
                if existing:
                    self.stdout.write(f"Replacing a partial demo registry of {existing:,} households.")
                    try:
                        _delete_demo_registry()
                    except IntegrityError:
                        raise CommandError(
                            "Demo households hold approved entitlements, which are never deleted, so the demo registry"
                            " cannot be replaced (nothing was changed). Load it with its current size, or start from a"
                            " fresh database: make db-stop, remove var/pg, make demo."
                        ) from None
                with tqdm(total=households, desc="households", unit="hh", unit_scale=True, disable=quiet) as bar:
                    counts = load_demo_households(
                        households, seed=seed, chunk=chunk, progress=lambda done, total: bar.update(done - bar.n)
                    )
                self.stdout.write(f"Loaded {counts['households']:,} households, {counts['individuals']:,} individuals.")
            # Before the demo program's enrolment, so that a reload enrols nobody new.
            city = load_dhaka_households(dhaka_household_count(households))
            facilities = load_demo_facilities()
            self.stdout.write(
                f"{facilities['warehouses']} warehouses, {facilities['distribution_points']} distribution points."
            )
            program = load_demo_program()
            self.stdout.write(f"Program {program['program']}: {program['enrolled']:,} households enrolled.")
            self.stdout.write(f"Payment providers: {', '.join(load_demo_providers())}.")
            password = _demo_users()
            self._load_dhaka_scenario(city)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOpen {url} and sign in as admin / {password}"
                + "\n(the same password for: "
                + ", ".join(DEMO_USERS)
                + ")"
            )
        )

    def _load_dhaka_scenario(self, people: int) -> None:
        """Stock in every warehouse, Dhaka's roads, the waterlogging analysis, the relief cycle and its plan."""
        users = {user.username: user for user in get_user_model().objects.filter(username__in=DEMO_USERS)}
        dhaka = load_dhaka_facilities()
        stock = load_demo_stock()
        self.stdout.write(
            f"Dhaka: {people:,} households, {dhaka['warehouses']} warehouses, "
            f"{dhaka['distribution_points']} distribution points; "
            f"{stock['items']} catalogue items, {stock['receipts']} opening receipts."
        )
        network = load_demo_roads(user=users["logistics"])
        self.stdout.write(f"Road network {network.code}: {network.edge_count:,} edges.")
        run = load_dhaka_waterlogging(user=users["coordinator"])
        relief = load_dhaka_relief(
            run=run, officer=users["officer"], approver=users["approver"], logistics=users["logistics"]
        )
        self.stdout.write(
            f"{INCIDENT_NAME}: analysis {run.pk}, program {relief['program']} ({relief['entitlements']:,} in-kind "
            f"entitlements, cycle {relief['cycle']}), distribution plan {relief['plan']}."
        )

    def _retire_legacy_demo(self) -> None:
        """Demo databases loaded before the COD-AB boundaries hold divisions and districts coded `BD-<DIV>` and
        `BD-<DIV>-<DISTRICT>`, and households and facilities placed in them. Those go first (the synthetic registry
        is loaded again), so that maps and lists do not show both sets and no household has to be moved."""
        legacy = Area.objects.filter(code__startswith="BD-")
        if not legacy.exists():
            return
        self.stdout.write("Replacing the previous demo (boundaries coded BD-…) with the COD-AB one.")
        try:
            with transaction.atomic():
                _delete_demo_registry()
                Warehouse.objects.filter(code__startswith="WH-").delete()
                DistributionPoint.objects.filter(code__startswith="DP-").delete()
                for level in sorted(set(legacy.values_list("level", flat=True)), reverse=True):
                    legacy.filter(level=level).delete()
        except (ProtectedError, IntegrityError):
            raise CommandError(
                "This database holds the previous demo's areas (codes BD-…) and records of yours point at them. "
                "For the new demo, start from a fresh database: make db-stop, remove var/pg, make demo."
            ) from None


def _delete_demo_registry() -> None:
    from django.db import connection

    with transaction.atomic(), connection.cursor() as cursor:
        demo = "SELECT id FROM registry_household WHERE source = 'demo'"
        # Program members and draft entitlements go with the demo households; approved entitlements are promises
        # the database keeps (deleting them fails, and so does the reload, with nothing changed).
        cursor.execute(
            f"DELETE FROM programs_entitlementitem WHERE entitlement_id IN "
            f"(SELECT id FROM programs_entitlement WHERE household_id IN ({demo}))"
        )
        cursor.execute(f"DELETE FROM programs_entitlement WHERE household_id IN ({demo})")
        cursor.execute(f"DELETE FROM programs_programmembership WHERE household_id IN ({demo})")
        cursor.execute(
            "DELETE FROM registry_membership "
            "WHERE household_id IN (SELECT id FROM registry_household WHERE source = 'demo')"
        )
        cursor.execute(
            "DELETE FROM registry_individual i WHERE NOT EXISTS "
            "(SELECT 1 FROM registry_membership m WHERE m.individual_id = i.id) AND i.external_id LIKE 'DEMO-%%'"
        )
        cursor.execute("DELETE FROM registry_household WHERE source = 'demo'")


@transaction.atomic
def _demo_users() -> str:
    password = demo_password()
    sync_roles()
    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(username="admin", defaults={"email": "admin@example.org"})
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    for username, (role, area_code) in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = False
        user.set_password(password)
        user.save()
        user.groups.set([user.groups.model.objects.get(name=role_group_name(role))])
        if area_code:
            scope, _ = AreaScope.objects.get_or_create(user=user)
            scope.areas.set(Area.objects.filter(code=area_code))
    return password
