"""Top-ups from an exposure analysis, in one step: vertical (enrolled beneficiaries inside the affected list get a
top-up) and/or horizontal (affected households not yet enrolled join an emergency program), amounts or baskets by
hazard class, a preview, and draft cycles for approval.

A later analysis of the same incident (a CAP Update, a new EMS product) launched the same way yields a supplementary
cycle: the population excludes everyone the program already entitled for the incident, so only the newly affected
are reached, and nobody twice.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from programs.models import Cycle, Program
from programs.money import parse_amount
from programs.population import arithmetic_checked, cycle_population, digest_of, digest_rows_sql
from programs.services.cycles import cycle_create, cycle_generate
from programs.services.programs import program_create, require_program_scope
from response.models import ExposureRun

AFFECTED = "exposure.affected"


@dataclass
class TopUpRequest:
    exposure_run: ExposureRun
    starts_on: datetime.date
    ends_on: datetime.date
    program: Program | None = None  # vertical: the program whose enrolled members get a top-up
    vertical: bool = True
    horizontal: bool = False
    emergency_program: Program | None = None  # horizontal: the program the affected newcomers join…
    new_program_name: str = ""  # …or the name of a new emergency program
    amounts_by_class: dict | None = None
    base_amount: str | None = None
    in_kind: list | None = None


def _formula(request: TopUpRequest, currency: str) -> dict:
    cash: dict = {}
    for key, value in (request.amounts_by_class or {}).items():
        try:
            parse_amount(value, field=f"amounts_by_class.{key}", currency=currency)
        except ValueError as error:
            raise ValidationError({"amounts_by_class": str(error)}) from error
    if request.amounts_by_class:
        cash["by_class"] = {key: str(value) for key, value in request.amounts_by_class.items()}
    if request.base_amount not in (None, ""):
        try:
            parse_amount(request.base_amount, field="base_amount", currency=currency)
        except ValueError as error:
            raise ValidationError({"base_amount": str(error)}) from error
        cash["base"] = str(request.base_amount)
    formula: dict = {}
    if cash:
        formula["cash"] = cash
    if request.in_kind:
        formula["in_kind"] = request.in_kind
    if not formula:
        raise ValidationError({"amounts_by_class": "Give amounts by hazard class, a base amount or an in-kind basket."})
    return formula


def _check(request: TopUpRequest) -> None:
    run = request.exposure_run
    if run.status != ExposureRun.Status.SUCCEEDED:
        raise ValidationError({"exposure_run": f"Analysis {run.pk} has not finished ({run.status})."})
    if not (request.vertical or request.horizontal):
        raise ValidationError({"vertical": "Choose a vertical top-up, a horizontal expansion, or both."})
    if request.vertical and request.program is None:
        raise ValidationError({"program": "A vertical top-up needs the program whose members it tops up."})
    if request.horizontal and request.emergency_program is None and not request.new_program_name.strip():
        raise ValidationError({"emergency_program": "Choose the emergency program newcomers join, or name a new one."})
    if request.ends_on < request.starts_on:
        raise ValidationError({"ends_on": "The cycle ends before it starts."})


def _previous_cycle(program: Program, incident_id: int) -> Cycle | None:
    return (
        program.cycles.filter(incident_id=incident_id)
        .exclude(state=Cycle.State.CANCELLED)
        .order_by("-sequence")
        .first()
    )


def _draft(request: TopUpRequest, *, user, program: Program, kind: str, rule: str, label: str) -> Cycle:
    """The draft cycle of one side of a top-up; a supplementary one when the program already has a cycle for the
    incident."""
    run = request.exposure_run
    require_program_scope(user, program)
    previous = _previous_cycle(program, run.incident_id)
    return cycle_create(
        user=user,
        program=program,
        name=f"{'Supplementary ' + label.lower() if previous else label}: {run.incident.name} (analysis {run.pk})",
        kind=kind,
        population=Cycle.Population.ENROLLED if kind == Cycle.Kind.TOP_UP else Cycle.Population.NEW,
        starts_on=request.starts_on,
        ends_on=request.ends_on,
        rule=rule,
        formula=_formula(request, program.currency),
        incident=run.incident,
        exposure_run=run,
        supplements=previous,
    )


def _create_cycles(request: TopUpRequest, *, user) -> list[Cycle]:
    cycles = []
    if request.vertical:
        cycles.append(
            _draft(request, user=user, program=request.program, kind=Cycle.Kind.TOP_UP, rule=AFFECTED, label="Top-up")
        )
    if request.horizontal:
        emergency = request.emergency_program
        if emergency is None:
            emergency = program_create(
                user=user,
                name=request.new_program_name.strip(),
                kind=Program.Kind.EMERGENCY,
                currency=request.program.currency if request.program else None,
                areas=list(request.program.areas.values_list("code", flat=True)) if request.program else [],
                incidents=[request.exposure_run.incident],
                funding_source="",
            )
        rule = AFFECTED
        if request.vertical and request.program is not None:
            # The vertical top-up already reaches the first program's members.
            rule = f'{AFFECTED} && !enrolled_in("{request.program.code}")'
        cycles.append(
            _draft(request, user=user, program=emergency, kind=Cycle.Kind.NEW_CASELOAD, rule=rule, label="New caseload")
        )
    return cycles


def _preview(cycles: list[Cycle]) -> dict:
    preview = {}
    with connection.cursor() as cursor, arithmetic_checked("amounts_by_class"):
        for cycle in cycles:
            count, people, amount, _ = digest_of(cursor, digest_rows_sql(cycle_population(cycle)))
            side = "vertical" if cycle.kind == Cycle.Kind.TOP_UP else "horizontal"
            preview[side] = {"households": count, "people": people, "amount": amount, "program": cycle.program.code}
    return preview


class _PreviewOnly(Exception):
    pass


def topup_preview(*, request: TopUpRequest, user) -> dict:
    """What a launch would create, computed on the real statements and then rolled back: nothing is stored."""
    _check(request)
    result: dict = {}
    try:
        with transaction.atomic():
            result = _preview(_create_cycles(request, user=user))
            raise _PreviewOnly
    except _PreviewOnly:
        pass
    return result


@transaction.atomic
def topup_launch(*, request: TopUpRequest, user) -> tuple[list[Cycle], dict]:
    """Create the draft cycles and queue their entitlements; returns the cycles and the preview numbers."""
    _check(request)
    cycles = _create_cycles(request, user=user)
    preview = _preview(cycles)
    for cycle in cycles:
        cycle_generate(cycle=cycle, user=user)
    return cycles, preview
