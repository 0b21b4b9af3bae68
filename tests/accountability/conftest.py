"""A small program world for the accountability tests, built the way the apps build it (factories, the payment
ledger's events, the redemption service), with known figures per district:

west (C-W): six households of three members; five affected by the flood analysis, four enrolled; entitlements of
1,000 BDT: w0, w1, w2 approved, w3 draft, w5 cancelled; payments: w0 paid, w1 failed; w2 redeemed at a point.
east (C-E): three households of three members; two affected, one enrolled; e0 approved and pending payment.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from distribution.redemption import services as redemption_services
from distribution.redemption import vouchers
from programs.models import Cycle, Entitlement, Program, ProgramMembership
from programs.payments.models import Payment, PaymentBatch
from programs.payments.services.ledger import record_events
from tests.distribution import factories_redemption as f
from tests.factories import BankFactory, UserFactory
from tests.programs.conftest import household_with_members
from tests.response.factories import ExposureRunFactory, IncidentFactory, default_class, exposure_results


@dataclass
class World:
    program: Program
    cycle: Cycle
    west: object
    east: object
    west_households: list
    east_households: list
    entitlements: dict
    run: object


@pytest.fixture
def world(two_districts) -> World:
    _, west, east = two_districts
    west_households = [household_with_members(Point(90.1 + i * 0.1, 23.5, srid=4326), west) for i in range(6)]
    east_households = [household_with_members(Point(91.1 + i * 0.1, 23.5, srid=4326), east) for i in range(3)]
    incident = IncidentFactory()
    run = ExposureRunFactory(incident=incident)
    high = default_class("flood", "high")
    affected = [*((h, west) for h in west_households[:5]), *((h, east) for h in east_households[:2])]
    exposure_results(
        run, [{"household": h, "hazard_class": high, "class_rank": high.rank, "area": area} for h, area in affected]
    )
    program = Program.objects.create(name="Flood cash", currency="BDT")
    program.areas.add(west, east)
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=program, household=h, state="enrolled")
        for h in [*west_households[:4], east_households[0]]
    )
    cycle = f.approved_cycle(program=program)
    Cycle.objects.filter(pk=cycle.pk).update(exposure_run=run, incident=incident)
    cycle.refresh_from_db()
    status = {0: "approved", 1: "approved", 2: "approved", 3: "draft", 5: "cancelled"}
    entitlements = {
        f"w{i}": f.entitlement(cycle=cycle, household=west_households[i], kind="cash", amount="1000", status=s)
        for i, s in status.items()
    }
    entitlements["e0"] = f.entitlement(cycle=cycle, household=east_households[0], kind="cash", amount="1000")
    officer = UserFactory(roles=["program_officer"])
    batch = PaymentBatch.objects.create(
        cycle=cycle,
        program=program,
        fsp=BankFactory(code="CITY"),
        currency="BDT",
        execution_date=timezone.localdate(),
        prepared_by=officer,
        status="prepared",
    )
    for key in ("w0", "w1", "e0"):
        entitlement: Entitlement = entitlements[key]
        Payment.objects.create(
            batch=batch, entitlement=entitlement, household=entitlement.household, amount=1000, currency="BDT"
        )
    w0, w1 = entitlements["w0"].pk, entitlements["w1"].pk
    record_events(batch=batch, status="sent", where="entitlement_id = %s", params=[w0])
    record_events(batch=batch, status="paid", where="entitlement_id = %s", params=[w0])
    record_events(batch=batch, status="failed", where="entitlement_id = %s", params=[w1], reason="closed account")
    operator = UserFactory(roles=["logistics_officer"])
    point = f.point("DP-W", location=(90.4, 23.7))
    redemption_services.redemption_redeem(
        user=operator, point_id=point.pk, voucher=vouchers.sign(entitlements["w2"].code)
    )
    return World(program, cycle, west, east, west_households, east_households, entitlements, run)
