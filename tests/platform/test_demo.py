"""The demo loader: real boundaries (COD-AB, four levels), a seeded registry placed in upazilas, facilities and
users; idempotent."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, models

from distribution.demo_dhaka import RELIEF_PROGRAM, dhaka_household_count
from distribution.models import DistributionPoint, FacilityExposure, RoadNetwork, Warehouse
from distribution.plans.models import DistributionPlan
from distribution.stock.models import StockBalance
from geo.models import Area
from programs.demo import DEMO_PROGRAM
from programs.models import Cycle, Entitlement, Program
from programs.payments.models import FinancialServiceProvider
from registry.demo import generate_batches
from registry.models import Household, Individual, Membership
from tests.factories import AreaFactory, HouseholdFactory
from tests.registry.test_member_summary import summary_mismatches

pytestmark = pytest.mark.django_db


def test_load_demo_builds_a_consistent_small_demo_and_is_idempotent(settings, tmp_path):
    settings.BASE_DIR = tmp_path  # the demo password file goes under var/
    # What an earlier demo left: areas coded BD-<DIV>-<DISTRICT>, and demo households in them.
    legacy = AreaFactory(code="BD-SYL-SYLHET", parent=AreaFactory(code="BD-SYL", parent=AreaFactory(code="BD")))
    HouseholdFactory(area=legacy, location=None, source="demo")
    call_command("load_demo", households=400, chunk=150, verbosity=0)
    assert not Area.objects.filter(code__startswith="BD-").exists()

    assert Area.objects.filter(level=0).count() == 1
    assert Area.objects.filter(level=1).count() == 8
    assert Area.objects.filter(level=2).count() == 64
    assert Area.objects.filter(level=3).count() == 507
    # P-codes as codes, and each level's parent is the area its P-code extends.
    sylhet_sadar = Area.objects.select_related("parent__parent__parent").get(code="BD60910062")
    assert (sylhet_sadar.name, sylhet_sadar.parent.code, sylhet_sadar.parent.parent.code) == (
        "Sylhet Sadar",
        "BD6091",
        "BD60",
    )
    assert (
        sylhet_sadar.parent.parent.parent.code == "BD"
        and sylhet_sadar.lineage[0] == sylhet_sadar.parent.parent.parent.id
    )
    assert not Area.objects.filter(level__gt=0).exclude(code__startswith=models.F("parent__code")).exists()
    # The country-wide 400, and the Dhaka scenario's city households beside them.
    total = 400 + dhaka_household_count(400)
    assert Household.objects.count() == total
    assert Household.objects.filter(external_id__startswith="DEMO-9").count() == dhaka_household_count(400)
    assert not Household.objects.filter(area__isnull=True).exists()
    assert set(Household.objects.values_list("area__level", flat=True)) == {3}  # the lowest level: upazilas
    # Every household has exactly one head, and members are plausible.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT household_id FROM registry_membership WHERE role = 'head' "
            "GROUP BY household_id HAVING count(*) = 1) heads"
        )
        assert cursor.fetchone()[0] == total
    people = Individual.objects.count()
    assert 3.5 * total < people < 5 * total
    assert Membership.objects.count() == people
    mothers = Individual.objects.filter(sex="F", is_pregnant=True) | Individual.objects.filter(
        sex="F", is_lactating=True
    )
    assert 0 < mothers.count() < people * 0.1
    assert not Individual.objects.filter(is_pregnant=True, is_lactating=True).exists()
    assert not Individual.objects.filter(sex="M", is_pregnant=True).exists()
    assert Warehouse.objects.count() >= 12 and DistributionPoint.objects.count() >= 60
    assert not Warehouse.objects.filter(area__isnull=True).exists()
    assert set(Warehouse.objects.values_list("area__level", flat=True)) == {3}
    assert get_user_model().objects.get(username="sylhet.coordinator").area_scope.areas.get().code == "BD60"
    program = Program.objects.get(name=DEMO_PROGRAM)
    enrolled = program.memberships.filter(state="enrolled").count()
    assert 0 < enrolled < 400 and get_user_model().objects.get(username="approver").has_perm("programs.approve_cycle")
    # Payments: two providers paid by download, and a finance officer to release what an officer prepares.
    assert set(FinancialServiceProvider.objects.values_list("code", "transport")) == {
        ("CITY", "download"),
        ("BKASH", "download"),
    }
    assert get_user_model().objects.get(username="finance").has_perm("programs.release_paymentbatch")

    assert summary_mismatches() == []  # the member summary the triggers kept through the COPY load

    # The logistics officer's Dhaka scenario: stock in every warehouse, the roads, the analysis, a relief cycle
    # approved by a second officer, and its distribution plan.
    assert RoadNetwork.objects.get(is_default=True).code == "dhaka" and RoadNetwork.objects.get().edge_count > 10_000
    assert set(StockBalance.objects.filter(on_hand__gt=0).values_list("warehouse__code", flat=True)) >= set(
        Warehouse.objects.values_list("code", flat=True)
    )
    assert FacilityExposure.objects.filter(distribution_point__code="DP-DHK-MOT").exists()
    relief = Cycle.objects.get(program__name=RELIEF_PROGRAM)
    assert relief.state == "approved" and relief.submitted_by.username != relief.approved_by.username
    assert Entitlement.objects.filter(cycle=relief, kind="in_kind", status="approved").count() > 0
    plan = DistributionPlan.objects.get(cycle=relief)
    assert plan.status == "succeeded" and plan.result["households"] == relief.planned_count

    call_command("load_demo", households=400, verbosity=0)
    assert FinancialServiceProvider.objects.count() == 2
    assert Household.objects.count() == total and Individual.objects.count() == people
    assert DistributionPlan.objects.filter(cycle=relief).count() == 1 and RoadNetwork.objects.count() == 1
    assert summary_mismatches() == []  # and through the reload's deletes
    assert program.memberships.filter(state="enrolled").count() == enrolled


def test_generator_is_deterministic(two_districts):
    from registry.demo import demo_area_weights

    areas = demo_area_weights()
    first = next(generate_batches(50, seed=7, areas=areas))
    again = next(generate_batches(50, seed=7, areas=areas))
    other = next(generate_batches(50, seed=8, areas=areas))
    assert (first[1] == again[1]).all() and (first[3] == again[3]).all()
    assert not (first[1] == other[1]).all()


@pytest.mark.django_db(transaction=True)
def test_parallel_chunks_commit_each_on_their_own_connection_and_keep_the_actor(two_districts):
    from registry.demo import load_demo_households
    from spmis.core.audit import audit_context
    from spmis.core.models import AuditEvent

    with audit_context(actor="command:test", source="command"):
        counts = load_demo_households(300, seed=3, chunk=70, workers=2)
    assert counts["households"] == Household.objects.count() == 300
    assert not Household.objects.filter(area__isnull=True).exists()
    assert Individual.objects.count() == counts["individuals"] == Membership.objects.count()
    actors = set(AuditEvent.objects.filter(table_name="registry_household").values_list("actor", flat=True))
    assert actors == {"command:test"}
