"""Fixtures for the programs tests.

`flood`: a small affected registry: an incident over the west district with a high zone (six households) and a
moderate zone (two), two households outside both, every household with three members; and its finished analysis.

`sample`: about fifty varied households for comparing compiled rules with their Python reference.

`mock_bank`: a real mock-bank (PyPI mock-bank 0.9.0) on a free loopback port, fresh for each test
(tests/programs/mockbank.py)."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from programs.models import Program, ProgramMembership
from registry.models import CustomField, Household, Individual
from response.services import exposure_run_start
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, square
from tests.programs.mockbank import MockBank
from tests.response.factories import (
    ExposureRunFactory,
    HazardZoneFactory,
    IncidentFactory,
    default_class,
    exposure_results,
)


def response_bytes(response) -> bytes:
    """A response's bytes, whether built whole or streamed (exports are streamed)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def household_with_members(location: Point, area, *, members: int = 3, **fields):
    household = HouseholdFactory(location=location, area=area, **fields)
    for number in range(members):
        person = IndividualFactory(birth_date=datetime.date(1980 + number * 10, 1, 1))
        MembershipFactory(household=household, individual=person, role="head" if number == 0 else "child")
    return household


def run_analysis(incident):
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def flood(two_districts):
    _, west, _ = two_districts
    incident = IncidentFactory()
    incident.areas.add(west)
    HazardZoneFactory(incident=incident)  # high: 90.2–90.4 °E, 23.2–23.4 °N
    HazardZoneFactory(incident=incident, hazard_class=default_class("flood", "moderate"), geom=square(90.4, 23.2, 0.2))
    high = [household_with_members(Point(90.21 + i * 0.03, 23.3, srid=4326), west) for i in range(6)]
    moderate = [household_with_members(Point(90.45 + i * 0.05, 23.3, srid=4326), west) for i in range(2)]
    outside = [household_with_members(Point(90.8, 23.8 + i * 0.05, srid=4326), west) for i in range(2)]
    run = run_analysis(incident)
    return {"incident": incident, "run": run, "high": high, "moderate": moderate, "outside": outside, "west": west}


TODAY = datetime.date(2026, 3, 1)
# Every CEL type among the custom fields, and a multi-choice one rules cannot use.
CUSTOM_FIELDS = {
    "income": "decimal",
    "plot": "integer",
    "village": "choice",
    "note": "text",
    "farmer": "boolean",
    "visited": "date",
    "tags": "multi_choice",
}
VILLAGES = ["north", "south", "Åsa", ""]


@dataclass
class Sample:
    households: list[Household]
    run_id: int
    zone_key: str
    program_code: str
    other_program_code: str


def _custom(rng: random.Random) -> dict:
    """Custom values, some missing and a few of the wrong JSON type (as a bulk load could leave them)."""
    values: dict = {}
    if rng.random() < 0.7:
        values["income"] = rng.choice([0, 1500, 2500.5, 99.25, rng.randint(0, 9000)])
    if rng.random() < 0.7:
        values["plot"] = rng.choice([0, 1, 2, 5, 12, 2.0])
    if rng.random() < 0.7:
        values["village"] = rng.choice(VILLAGES)
    if rng.random() < 0.5:
        values["note"] = rng.choice(["flooded", "ok", "needs visit"])
    if rng.random() < 0.6:
        values["farmer"] = rng.choice([True, False, "yes"])  # "yes" is the wrong type: reads as missing
    if rng.random() < 0.5:
        values["visited"] = rng.choice(["2025-12-01", "2026-02-15", 7])
    if rng.random() < 0.3:
        values["tags"] = ["a"]
    return values


def _birth_date(rng: random.Random) -> datetime.date | None:
    if rng.random() < 0.1:
        return None
    # Ages around the 5/18/60 boundaries too, including birthdays on the rule's date.
    if rng.random() < 0.2:
        years = rng.choice([5, 18, 60])
        return TODAY.replace(year=TODAY.year - years) + datetime.timedelta(days=rng.choice([-1, 0, 1]))
    return TODAY - datetime.timedelta(days=rng.randint(0, 90 * 365))


@pytest.fixture
def sample(two_districts) -> Sample:
    """About 50 households in the two districts: members of every kind, custom values, locations (some missing),
    results in one exposure run, and memberships of two programs."""
    rng = random.Random(20260301)
    _country, west, east = two_districts
    for name, kind in CUSTOM_FIELDS.items():
        CustomField.objects.create(
            name=name, type=kind, applies_to="household", choices=VILLAGES if kind == "choice" else ["a", "b"]
        )
    zone = HazardZoneFactory(geom=square(90.2, 23.2, 0.5))
    households = []
    for _ in range(50):
        located = rng.random() < 0.85
        household = HouseholdFactory(
            location=Point(rng.uniform(90.0, 92.0), rng.uniform(23.0, 24.0), srid=4326) if located else None,
            area=None if located else rng.choice([west, east, None]),
            kind=rng.choice(["household", "household", "camp"]),
            location_precision=rng.choice(["gps", "address", "area"]),
            source=rng.choice(["", "census", "survey"]),
            registered_on=TODAY - datetime.timedelta(days=rng.randint(-3, 1500)),
            status="active" if rng.random() < 0.9 else "inactive",
            custom=_custom(rng),
        )
        for _ in range(rng.choice([0, 1, 2, 3, 4, 6])):
            wg = {
                f"wg_{d}": rng.choice([None, 1, 2, 3, 4]) if rng.random() < 0.3 else None for d in ("seeing", "walking")
            }
            person = IndividualFactory(
                birth_date=_birth_date(rng),
                sex=rng.choice(["F", "M", "X"]),
                is_pregnant=rng.random() < 0.1,
                is_lactating=rng.random() < 0.1,
                status="active" if rng.random() < 0.9 else "deceased",
                **wg,
            )
            if rng.random() < 0.1:
                # Set directly: the trigger derives it from Washington Group answers only when one is known.
                Individual.objects.filter(pk=person.pk).update(disability=True)
            ended = rng.random() < 0.1
            MembershipFactory(
                household=household,
                individual=person,
                role="other_relative",
                start_date=TODAY - datetime.timedelta(days=400),
                end_date=TODAY - datetime.timedelta(days=10) if ended else None,
            )
        households.append(household)

    run = ExposureRunFactory(incident=zone.incident)
    classes = [default_class("flood", key) for key in ("low", "moderate", "high")]
    rows = []
    for household in households:
        if rng.random() < 0.5:
            hazard_class = rng.choice(classes)
            rows.append(
                {
                    "household_id": household.pk,
                    "hazard_class": hazard_class,
                    "class_rank": hazard_class.rank,
                    "raster_value": rng.choice([None, 0.25, 1.0, 2.75, rng.uniform(0, 3)]),
                    "distance_m": rng.choice([None, 12.5, rng.uniform(0, 5000)]),
                }
            )
    exposure_results(run, rows)

    program = Program.objects.create(name="Cash for floods", currency="BDT")
    other = Program.objects.create(name="School meals", currency="BDT")
    program.refresh_from_db()
    other.refresh_from_db()
    for household in households:
        if rng.random() < 0.4:
            ProgramMembership.objects.create(
                program=rng.choice([program, other]),
                household=household,
                state=rng.choice(["enrolled", "enrolled", "paused", "exited"]),
            )
    for household in households:
        household.refresh_from_db()
    return Sample(households, run.pk, str(zone.zone_key), program.code, other.code)


@pytest.fixture
def mock_bank(tmp_path):
    bank = MockBank(tmp_path / "mock-bank").start()
    try:
        yield bank
    finally:
        bank.stop()
