"""Anticipatory action: a trigger drafts its program's pre-agreed cycle when a CAP alert or a forecast raster matches,
and tells the approvers. Evaluated when an analysis of the incident finishes (programs.receivers), once per trigger
and source: a TriggerFiring row with a unique key makes a second firing impossible."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from geo.models import Area
from programs.eligibility import ANY_RUN, RuleContext
from programs.models import Cycle, Notice, Program, Trigger, TriggerFiring
from programs.population import formula_or_error, rule_or_error
from programs.services.cycles import cycle_create, cycle_generate, notify_approvers
from programs.services.programs import require_program_scope
from response.models import ExposureRun

CAP_FIELDS = ("severity", "certainty", "urgency")


def _check_conditions(kind: str, conditions: dict) -> dict:
    if not isinstance(conditions, dict):
        raise ValidationError({"conditions": "Conditions are an object."})
    cleaned: dict = {}
    if kind == Trigger.Kind.CAP:
        for name in CAP_FIELDS:
            values = conditions.get(name) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValidationError({f"conditions.{name}": 'A list of CAP values, e.g. ["Severe", "Extreme"].'})
            cleaned[name] = values
    else:
        threshold = conditions.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValidationError({"conditions.threshold": "The forecast value that fires the trigger (a number)."})
        cleaned["threshold"] = float(threshold)
        minimum = conditions.get("min_households", 1)
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            raise ValidationError({"conditions.min_households": "A whole number of households, at least 1."})
        cleaned["min_households"] = minimum
    codes = conditions.get("areas") or []
    if not isinstance(codes, list):
        raise ValidationError({"conditions.areas": "A list of area codes."})
    known = set(Area.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError({"conditions.areas": f"Unknown area code(s): {', '.join(unknown)}."})
    cleaned["areas"] = codes
    return cleaned


@transaction.atomic
def trigger_create(
    *,
    user,
    program: Program,
    name: str,
    kind: str,
    conditions: dict,
    formula: dict,
    rule: str = "",
    valid_days: int = 30,
) -> Trigger:
    require_program_scope(user, program)
    if kind not in Trigger.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(Trigger.Kind.values)}."})
    cleaned = _check_conditions(kind, conditions)
    context = RuleContext(exposure_run_id=ANY_RUN)
    rule_or_error(rule, context)
    formula_or_error(formula, context, currency=program.currency)
    if not 1 <= int(valid_days) <= 366:
        raise ValidationError({"valid_days": "Between 1 and 366 days."})
    return Trigger.objects.create(
        program=program,
        name=name,
        kind=kind,
        conditions=cleaned,
        formula=formula,
        rule=rule,
        valid_days=valid_days,
        created_by=user,
    )


def _in_areas(run: ExposureRun, codes: list[str], cursor) -> bool:
    """Whether the incident's current zones touch any of the areas: one statement over both subdivided,
    GiST-indexed tables, rather than a query per zone."""
    if not codes:
        return True
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM response_hazardzonepiece zp"
        " JOIN response_hazardzone z ON z.id = zp.zone_id AND z.incident_id = %s AND z.is_current"
        " JOIN geo_areapiece ap ON ST_Intersects(ap.geom, zp.geom)"
        " JOIN geo_area a ON a.id = ap.area_id AND a.code = ANY(%s))",
        [run.incident_id, list(codes)],
    )
    return cursor.fetchone()[0]


def _matches(trigger: Trigger, run: ExposureRun, cursor) -> str | None:
    """The source key the trigger fires for on this analysis, or None."""
    conditions = trigger.conditions
    if not _in_areas(run, conditions.get("areas") or [], cursor):
        return None
    if trigger.kind == Trigger.Kind.CAP:
        identifier = run.incident.cap_identifier
        if not identifier:
            return None
        from layers.models import CapAlert

        alert = CapAlert.objects.filter(identifier=identifier).first()
        if alert is None:
            return None
        for name in CAP_FIELDS:
            wanted = [value.lower() for value in conditions.get(name) or []]
            if wanted and (getattr(alert, name) or "").lower() not in wanted:
                return None
        return f"cap:{identifier}"
    cursor.execute(
        "SELECT count(*) FROM response_exposureresult WHERE run_id = %s AND raster_value >= %s",
        [run.pk, conditions["threshold"]],
    )
    if cursor.fetchone()[0] < conditions.get("min_households", 1):
        return None
    raster = (run.parameters or {}).get("raster_layer")
    return f"raster:{raster or 'run-' + str(run.pk)}"


def triggers_fire_for_incident(*, run: ExposureRun, cursor) -> list[int]:
    """Draft the pre-agreed cycle of every active trigger that matches this analysis and has not fired for its
    source. Runs inside the analysis' transaction; returns the ids of the cycles drafted."""
    drafted = []
    for trigger in Trigger.objects.filter(is_active=True, program__status=Program.Status.ACTIVE).select_related(
        "program"
    ):
        source_key = _matches(trigger, run, cursor)
        if source_key is None:
            continue
        try:
            with transaction.atomic():
                firing = TriggerFiring.objects.create(trigger=trigger, source_key=source_key, incident=run.incident)
        except IntegrityError:
            continue  # fired for this source already
        today = timezone.localdate()
        rule = trigger.rule.strip()
        cycle = cycle_create(
            user=None,
            program=trigger.program,
            name=f"Anticipatory: {trigger.name} ({run.incident.name})",
            kind=Cycle.Kind.ANTICIPATORY,
            population=Cycle.Population.ENROLLED,
            starts_on=today,
            ends_on=today + datetime.timedelta(days=trigger.valid_days),
            rule=f"exposure.affected && ({rule})" if rule else "exposure.affected",
            formula=trigger.formula,
            incident=run.incident,
            exposure_run=run,
            run_must_be_done=False,
        )
        firing.cycle = cycle
        firing.save(update_fields=["cycle"])
        cycle_generate(cycle=cycle, user=None)
        notify_approvers(cycle, submitter=None, subject=f"Trigger {trigger.name} fired: cycle drafted for review")
        drafted.append(cycle.pk)
    return drafted


def notice_read(*, notice: Notice, user) -> Notice:
    if notice.user_id != user.pk:
        raise ValidationError({"notice": "Not your notice."})
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    return notice
