"""Targeting simulations: up to four scenarios (rule, formula, budget) compared against one analysis; a scenario
becomes a program in one step."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from programs.eligibility import RuleContext
from programs.models import Program, Scenario, Simulation
from programs.money import parse_amount
from programs.population import formula_or_error, rule_or_error
from programs.services.programs import program_create
from response.models import ExposureRun
from spmis.country import country

MAX_SCENARIOS = 4


def _scenario_errors(index: int, error: ValidationError) -> ValidationError:
    return ValidationError({f"scenarios[{index}].{field}": messages for field, messages in error.message_dict.items()})


@transaction.atomic
def simulation_create(
    *, user, name: str, scenarios: list[dict], exposure_run: ExposureRun | None = None, currency: str | None = None
) -> Simulation:
    if not 1 <= len(scenarios) <= MAX_SCENARIOS:
        raise ValidationError({"scenarios": f"Compare one to {MAX_SCENARIOS} scenarios, not {len(scenarios)}."})
    if exposure_run is not None and exposure_run.status != ExposureRun.Status.SUCCEEDED:
        raise ValidationError({"exposure_run": f"Analysis {exposure_run.pk} has not finished."})
    currency = (currency or country().currency).upper()
    context = RuleContext(exposure_run_id=exposure_run.pk if exposure_run else None)
    cleaned = []
    for index, scenario in enumerate(scenarios):
        if not isinstance(scenario, dict):
            raise ValidationError(
                {f"scenarios[{index}]": "Each scenario is an object with name, rule, formula, budget."}
            )
        try:
            rule = str(scenario.get("rule") or "")
            rule_or_error(rule, context)
            formula = scenario.get("formula") or {}
            if not isinstance(formula, dict):
                raise ValidationError({"formula": "The formula is an object (see docs/programs.md)."})
            formula_or_error(formula, context, currency=currency)
            budget = scenario.get("budget")
            if budget not in (None, ""):
                try:
                    budget = parse_amount(budget, field="budget", currency=currency)
                except ValueError as error:
                    raise ValidationError({"budget": str(error)}) from error
            else:
                budget = None
        except ValidationError as error:
            raise _scenario_errors(index, error) from error
        cleaned.append(
            Scenario(
                position=index + 1,
                name=str(scenario.get("name") or f"Scenario {index + 1}")[:200],
                rule=rule,
                formula=formula,
                budget=budget,
            )
        )
    simulation = Simulation.objects.create(
        name=name or "Simulation", exposure_run=exposure_run, currency=currency, created_by=user
    )
    for scenario in cleaned:
        scenario.simulation = simulation
    Scenario.objects.bulk_create(cleaned)
    return simulation


@transaction.atomic
def scenario_promote(*, scenario: Scenario, user, program_name: str, kind: str = Program.Kind.REGULAR) -> Program:
    """A program whose eligibility rule and budget are the scenario's; its formula is kept for its first cycle."""
    if not program_name or not program_name.strip():
        raise ValidationError({"program_name": "Name the new program."})
    if kind not in Program.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(Program.Kind.values)}."})
    simulation = scenario.simulation
    incidents = [simulation.exposure_run.incident] if simulation.exposure_run_id else []
    program = program_create(
        user=user,
        name=program_name.strip(),
        kind=kind,
        currency=simulation.currency,
        budget=scenario.budget,
        eligibility_rule=scenario.rule,
        incidents=incidents,
        description=f"From scenario {scenario.position} ({scenario.name}) of simulation {simulation.name}.\n"
        f"Formula: {scenario.formula}",
    )
    scenario.program = program
    scenario.save(update_fields=["program"])
    return program
