"""Creating and changing programs."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from geo.models import Area
from geo.selectors import user_area_ids
from programs.eligibility import ANY_RUN, RuleContext
from programs.models import Program
from programs.money import parse_amount
from programs.population import rule_or_error
from response.models import Incident
from spmis.country import country

EDITABLE = ("name", "description", "kind", "target", "budget", "funding_source", "status", "duplicate_policy")


def program_in_scope(user, program: Program) -> bool:
    """An officer bound to areas works on programs that lie inside them; national officers on every program. The
    system itself (user None: an anticipatory trigger) acts nationally."""
    if user is None:
        return True
    ids = user_area_ids(user)
    if ids is None:
        return True
    if not ids:
        return False
    areas = list(program.areas.values_list("lineage", flat=True))
    return bool(areas) and all(set(lineage) & set(ids) for lineage in areas)


def require_program_scope(user, program: Program) -> None:
    if not program_in_scope(user, program):
        raise PermissionDenied(f"Program {program.code} covers areas outside yours.")


def _areas(codes: Iterable[str], user) -> list[Area]:
    codes = list(dict.fromkeys(codes))
    found = {area.code: area for area in Area.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        raise ValidationError({"areas": f"Unknown area code(s): {', '.join(missing)}."})
    ids = user_area_ids(user)
    if ids is not None:
        if not codes:
            raise ValidationError({"areas": "Choose the program's areas: you work in some areas only."})
        outside = [code for code, area in found.items() if not set(area.lineage) & set(ids)]
        if outside:
            raise ValidationError({"areas": f"Outside your areas: {', '.join(outside)}."})
    return list(found.values())


def _clean(fields: dict, currency: str) -> dict:
    cleaned = dict(fields)
    if cleaned.get("budget") is not None:
        try:
            cleaned["budget"] = parse_amount(cleaned["budget"], field="budget", currency=currency)
        except ValueError as error:
            raise ValidationError({"budget": str(error)}) from error
    rule = cleaned.get("eligibility_rule")
    if rule:
        # exposure.* in a program's rule reads the analysis of the cycle (or enrolment) that applies it: any run
        # will do for checking the rule now.
        rule_or_error(rule, RuleContext(exposure_run_id=ANY_RUN), field="eligibility_rule")
    return cleaned


def _check_currency(currency: str) -> str:
    code = (currency or "").upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError({"currency": f"{currency!r} is not an ISO 4217 three-letter code."})
    return code


@transaction.atomic
def program_create(
    *,
    user,
    name: str,
    currency: str | None = None,
    areas: Iterable[str] = (),
    incidents: Iterable[Incident] = (),
    eligibility_rule: str = "",
    **fields,
) -> Program:
    currency = _check_currency(currency or country().currency)
    if Program.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A program named {name!r} exists already."})
    area_list = _areas(areas, user)
    fields = _clean({**fields, "eligibility_rule": eligibility_rule}, currency)
    program = Program.objects.create(name=name, currency=currency, created_by=user, **fields)
    program.areas.set(area_list)
    program.incidents.set(list(incidents))
    program.refresh_from_db(fields=["code"])
    return program


@transaction.atomic
def program_update(
    *,
    program: Program,
    user,
    areas: Iterable[str] | None = None,
    incidents: Iterable[Incident] | None = None,
    **fields,
) -> Program:
    require_program_scope(user, program)
    if "currency" in fields and fields["currency"] != program.currency:
        if program.cycles.exists():
            raise ValidationError({"currency": "The currency cannot change once the program has cycles."})
        program.currency = _check_currency(fields.pop("currency"))
    fields.pop("currency", None)
    unknown = set(fields) - set(EDITABLE) - {"eligibility_rule"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    for name, value in _clean(fields, program.currency).items():
        setattr(program, name, value)
    program.save()
    if areas is not None:
        program.areas.set(_areas(areas, user))
    if incidents is not None:
        program.incidents.set(list(incidents))
    return program


def program_latest_run_id(program: Program) -> int | None:
    """The latest finished analysis of any of the program's incidents: what exposure.* reads at enrolment."""
    from response.models import ExposureRun

    return (
        ExposureRun.objects.filter(incident__in=program.incidents.all(), status=ExposureRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("id", flat=True)
        .first()
    )


def budget_left(program: Program) -> Decimal | None:
    """What the program's budget still allows after every approved (not cancelled) entitlement and fee."""
    if program.budget is None:
        return None
    from django.db.models import Sum

    from programs.models import Entitlement

    spent = Entitlement.objects.filter(program=program, status=Entitlement.Status.APPROVED).aggregate(
        total=Sum("amount"), fees=Sum("fee")
    )
    return program.budget - (spent["total"] or 0) - (spent["fees"] or 0)
