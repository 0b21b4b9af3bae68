"""Cycles: create, generate entitlements (a job), submit, approve (a second person), cancel.

Generation writes the cycle's entitlements set-based from programs.population, in household-id chunks for progress,
inside the job's one transaction: a crash or a redelivered task leaves either all of them or none, and the unique
constraints (one entitlement per beneficiary, cycle and kind; one per program, incident, beneficiary and kind) make
a second copy impossible whatever runs twice.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from psycopg import sql

from programs.models import Cycle, EnrolmentRun, Entitlement, EntitlementRun, Notice, Program
from programs.population import (
    DIGEST_AGGREGATES,
    DigestSum,
    any_item_sql,
    arithmetic_checked,
    cycle_population,
    digest_of,
    digest_rows_sql,
    items_values_sql,
    stored_digest_part,
)
from programs.services.programs import budget_left, require_program_scope
from response.models import ExposureRun, Incident
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

APPROVE_PERMISSION = "programs.approve_cycle"
CHUNKS = 8
EDITABLE = ("name", "starts_on", "ends_on", "rule", "formula", "population", "kind")
KIND_POPULATION = {
    Cycle.Kind.TOP_UP: (Cycle.Population.ENROLLED,),
    Cycle.Kind.NEW_CASELOAD: (Cycle.Population.NEW,),
}


def _validate(cycle: Cycle, *, run_must_be_done: bool = True) -> None:
    if cycle.ends_on < cycle.starts_on:
        raise ValidationError({"ends_on": "The cycle ends before it starts."})
    allowed = KIND_POPULATION.get(cycle.kind)
    if allowed and cycle.population not in allowed:
        raise ValidationError(
            {"population": f"A {cycle.get_kind_display()} cycle reaches {' or '.join(allowed)} households only."}
        )
    if cycle.exposure_run_id is not None:
        run = cycle.exposure_run
        if run_must_be_done and run.status != ExposureRun.Status.SUCCEEDED:
            raise ValidationError({"exposure_run": f"Analysis {run.pk} has not finished ({run.status})."})
        if cycle.incident_id is None:
            cycle.incident_id = run.incident_id
        elif run.incident_id != cycle.incident_id:
            raise ValidationError({"exposure_run": "The analysis is of another incident than the cycle's."})
    if cycle.supplements_id is not None and cycle.supplements.program_id != cycle.program_id:
        raise ValidationError({"supplements": "A cycle supplements a cycle of its own program."})
    # Compiling the whole population checks the rule, the formula and the program's rule with positions.
    cycle_population(cycle)


def _save(cycle: Cycle) -> Cycle:
    try:
        with transaction.atomic():
            cycle.save()
    except IntegrityError as error:
        if "programs_cycle_regular_no_overlap" in str(error):
            raise ValidationError(
                {"starts_on": "This period overlaps another regular cycle of the program; choose other dates."}
            ) from error
        raise
    return cycle


@transaction.atomic
def cycle_create(
    *,
    user,
    program: Program,
    starts_on: datetime.date,
    ends_on: datetime.date,
    name: str = "",
    kind: str = Cycle.Kind.REGULAR,
    population: str = Cycle.Population.ENROLLED,
    rule: str = "",
    formula: dict | None = None,
    incident: Incident | None = None,
    exposure_run: ExposureRun | None = None,
    supplements: Cycle | None = None,
    run_must_be_done: bool = True,
) -> Cycle:
    """A draft cycle. `run_must_be_done=False` lets an anticipatory trigger draft a cycle from inside the analysis
    that fired it (the run commits with the cycle)."""
    require_program_scope(user, program)
    if program.status == Program.Status.CLOSED:
        raise ValidationError({"program": f"Program {program.code} is closed."})
    program = Program.objects.select_for_update().get(pk=program.pk)
    sequence = (program.cycles.aggregate(last=Max("sequence"))["last"] or 0) + 1
    cycle = Cycle(
        program=program,
        sequence=sequence,
        name=name or f"Cycle {sequence}",
        kind=kind,
        population=population,
        starts_on=starts_on,
        ends_on=ends_on,
        rule=rule or "",
        formula=formula or {},
        incident=incident,
        exposure_run=exposure_run,
        supplements=supplements,
        created_by=user,
    )
    _validate(cycle, run_must_be_done=run_must_be_done)
    _save(cycle)
    if cycle.incident_id is not None:
        program.incidents.add(cycle.incident_id)
    return cycle


def _lock(cycle: Cycle) -> Cycle:
    return Cycle.objects.select_for_update().select_related("program").get(pk=cycle.pk)


def _drop_drafts(cycle: Cycle) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM programs_entitlementitem i USING programs_entitlement e"
            " WHERE i.entitlement_id = e.id AND e.cycle_id = %s AND e.status = 'draft'",
            [cycle.pk],
        )
        cursor.execute("DELETE FROM programs_entitlement WHERE cycle_id = %s AND status = 'draft'", [cycle.pk])
    cycle.planned_count = cycle.planned_people = cycle.flagged_count = 0
    cycle.planned_amount = 0
    cycle.population_digest = ""
    cycle.generated_at = None


@transaction.atomic
def cycle_update(*, cycle: Cycle, user, **fields) -> Cycle:
    """Change a draft cycle; its entitlements are dropped (generate them again)."""
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if cycle.state != Cycle.State.DRAFT:
        raise ValidationError({"state": f"Only draft cycles can be changed; this one is {cycle.state}."})
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    for name, value in fields.items():
        setattr(cycle, name, value)
    _validate(cycle)
    _drop_drafts(cycle)
    return _save(cycle)


@transaction.atomic
def cycle_generate(*, cycle: Cycle, user) -> EntitlementRun:
    """Queue the generation of a draft cycle's entitlements."""
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if cycle.state != Cycle.State.DRAFT:
        raise ValidationError({"state": f"Entitlements are generated for draft cycles; this one is {cycle.state}."})
    if cycle.runs.filter(status__in=["pending", "running"]).exists():
        raise ValidationError({"cycle": "Entitlements are being generated already; wait for that run to end."})
    cycle_population(cycle)  # refuse now, with positions, what the job would fail on
    run = EntitlementRun.objects.create(cycle=cycle, created_by=user)
    enqueue_on_commit("programs.generate_entitlements", run.pk)
    return run


def _household_chunks(cursor) -> list[tuple[int, int]]:
    cursor.execute("SELECT min(id), max(id) FROM registry_household")
    low, high = cursor.fetchone()
    if low is None:
        return []
    step = max(1, (high - low + CHUNKS) // CHUNKS)
    return [(start, min(start + step, high + 1)) for start in range(low, high + 1, step)]


def write_entitlements(cursor, cycle: Cycle, progress=None) -> tuple[DigestSum, int]:
    """INSERT … SELECT the cycle's entitlements (cash, then in-kind lines) chunk by chunk, after its drafts were
    dropped; returns the digest figures of the cycle's entitlements as stored afterwards, and how many are flagged.

    The figures are added up from what each statement inserts (RETURNING) and what the cycle kept (its non-draft
    rows), rather than read back from a million stored rows."""
    program = cycle.program
    population = cycle_population(cycle, program=program)
    values = {
        "cycle": sql.Literal(cycle.pk),
        "program": sql.Literal(program.pk),
        "currency": sql.Literal(program.currency),
        "incident": sql.Literal(cycle.incident_id),
        "valid_from": sql.Literal(cycle.starts_on),
        "valid_until": sql.Literal(cycle.ends_on),
        "flag_reason": sql.Literal("entitled or enrolled by another program for the same incident"),
    }
    total = DigestSum()
    kept, _ = stored_digest_part(cursor, cycle.pk, where=sql.SQL("e.status <> 'draft'"))
    total.add(*kept)
    # The flagged count is of every row of the cycle, cancelled ones included (as the cycle page lists them).
    cursor.execute(
        "SELECT count(*) FILTER (WHERE flagged), count(*) FROM programs_entitlement WHERE cycle_id = %s", [cycle.pk]
    )
    flagged, remaining = cursor.fetchone()
    # Rows the cycle kept (cancelled, paused) may share a household with the population: those are skipped. With
    # none kept, a conflict cannot happen here, and a plain INSERT saves a speculative probe of every unique index
    # per row (a concurrent generation of another cycle for the same incident fails on the unique index instead).
    on_conflict = sql.SQL(" ON CONFLICT DO NOTHING" if remaining else "")
    chunks = _household_chunks(cursor)
    for number, (low, high) in enumerate(chunks, 1):
        chunk = sql.SQL("SELECT * FROM ({population}) p0 WHERE household_id >= {low} AND household_id < {high}").format(
            population=population.query, low=sql.Literal(low), high=sql.Literal(high)
        )
        if population.has_cash:
            cursor.execute(
                sql.SQL(
                    "WITH e AS (INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount,"
                    " fee, currency, incident_id, hazard_rank, people, flagged, flag_reason, valid_from, valid_until,"
                    " status)"
                    " SELECT {cycle}, {program}, p.household_id, 'cash', p.amount, p.fee, {currency}, {incident},"
                    " p.hazard_rank, p.people, p.flagged, CASE WHEN p.flagged THEN {flag_reason} ELSE '' END,"
                    " {valid_from}, {valid_until}, 'draft' FROM ({chunk}) p WHERE p.amount > 0{on_conflict}"
                    " RETURNING household_id, kind, amount::text AS amount, '' AS items, people, flagged)"
                    " SELECT {aggregates}, count(*) FILTER (WHERE flagged) FROM e"
                )
                .format(chunk=chunk, on_conflict=on_conflict, aggregates=DIGEST_AGGREGATES, **values)
                .as_string(cursor.connection)
            )
            *figures, cash_flagged = cursor.fetchone()
            total.add(*figures)
            flagged += cash_flagged
        if population.items:
            cursor.execute(
                sql.SQL(
                    "WITH p AS MATERIALIZED ({chunk}),"
                    " e AS (INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee,"
                    " currency, incident_id, hazard_rank, people, flagged, flag_reason, valid_from, valid_until,"
                    " status)"
                    " SELECT {cycle}, {program}, p.household_id, 'in_kind', NULL, 0, '', {incident}, p.hazard_rank,"
                    " p.people, p.flagged, CASE WHEN p.flagged THEN {flag_reason} ELSE '' END, {valid_from},"
                    " {valid_until}, 'draft' FROM p WHERE {any}{on_conflict} RETURNING id, household_id)"
                    " INSERT INTO programs_entitlementitem (entitlement_id, item, quantity, unit)"
                    " SELECT e.id, v.item, v.quantity, v.unit FROM e JOIN p ON p.household_id = e.household_id"
                    " CROSS JOIN LATERAL {values} WHERE v.quantity > 0"
                )
                .format(
                    chunk=chunk,
                    any=any_item_sql(population),
                    values=items_values_sql(population),
                    on_conflict=on_conflict,
                    **values,
                )
                .as_string(cursor.connection)
            )
        if progress is not None:
            progress(10 + 80 * number // len(chunks), f"Entitlements: chunk {number} of {len(chunks)}")
    if population.items:
        # In-kind rows with their lines, as stored (the lines were written by a second statement per chunk).
        figures, kind_flagged = stored_digest_part(
            cursor, cycle.pk, where=sql.SQL("e.status = 'draft' AND e.kind = 'in_kind'")
        )
        total.add(*figures)
        flagged += kind_flagged
    return total, flagged


def cycle_generate_execute(*, run_id: int) -> EntitlementRun:
    def work(run: EntitlementRun, progress) -> JobOutcome:
        cycle = _lock(run.cycle)
        if cycle.state != Cycle.State.DRAFT:
            raise ValidationError({"cycle": f"The cycle is {cycle.state}; entitlements are generated for drafts only."})
        progress(5, "Dropping earlier draft entitlements")
        _drop_drafts(cycle)
        with connection.cursor() as cursor, arithmetic_checked("cycle"):
            total, flagged = write_entitlements(cursor, cycle, progress)
            count, people, amount, digest = total.figures()
        cycle.planned_count, cycle.planned_people, cycle.planned_amount = count, people, amount
        cycle.flagged_count, cycle.population_digest = flagged, digest
        cycle.generated_at = timezone.now()
        cycle.save()
        return JobOutcome(
            result={"entitlements": count, "people": people, "amount": amount, "flagged": flagged},
            message=f"{count} entitlements, {amount} {cycle.program.currency}",
        )

    return run_job(EntitlementRun, run_id, work, error_field="cycle", progress_every=0.5)


def _approvers(program: Program, *, exclude) -> list:
    User = get_user_model()
    holders = User.objects.filter(
        Q(is_superuser=True)
        | Q(groups__permissions__codename="approve_cycle", groups__permissions__content_type__app_label="programs")
        | Q(user_permissions__codename="approve_cycle")
    ).filter(is_active=True)
    return [user for user in holders.distinct() if exclude is None or user.pk != exclude.pk]


def notify_approvers(cycle: Cycle, *, submitter, subject: str) -> int:
    notices = [
        Notice(
            user=user,
            subject=subject,
            cycle=cycle,
            body=f"{cycle.program.code} {cycle.name}: "
            f"{cycle.planned_count} entitlements, {cycle.planned_amount} {cycle.program.currency}.",
        )
        for user in _approvers(cycle.program, exclude=submitter)
    ]
    Notice.objects.bulk_create(notices)
    return len(notices)


@transaction.atomic
def cycle_submit(*, cycle: Cycle, user) -> Cycle:
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if cycle.state != Cycle.State.DRAFT:
        raise ValidationError({"state": f"Only draft cycles are submitted; this one is {cycle.state}."})
    if cycle.generated_at is None:
        raise ValidationError({"cycle": "Generate the entitlements first: the approver signs their numbers."})
    if cycle.planned_count == 0:
        raise ValidationError({"cycle": "The cycle entitles nobody; change its rule or formula."})
    cycle.state = Cycle.State.TO_APPROVE
    cycle.submitted_by, cycle.submitted_at = user, timezone.now()
    cycle.save()
    notify_approvers(cycle, submitter=user, subject=f"Cycle {cycle.name} of {cycle.program.code} awaits approval")
    return cycle


@transaction.atomic
def cycle_approve(*, cycle: Cycle, user) -> Cycle:
    """Approve a submitted cycle: another person than the submitter, holding the approval permission, and only
    when the population recomputed now equals the one generated (never stale numbers)."""
    cycle = _lock(cycle)
    program = cycle.program
    require_program_scope(user, program)
    if not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Approving cycles needs the cycle approval permission.")
    if cycle.state != Cycle.State.TO_APPROVE:
        raise ValidationError({"state": f"Only submitted cycles are approved; this one is {cycle.state}."})
    if cycle.submitted_by_id == user.pk:
        raise ValidationError({"approved_by": "You submitted this cycle: another officer must approve it (four eyes)."})
    with connection.cursor() as cursor, arithmetic_checked("cycle"):
        count, _people, amount, digest = digest_of(cursor, digest_rows_sql(cycle_population(cycle, program=program)))
        if digest != cycle.population_digest:
            raise ValidationError(
                {
                    "cycle": f"The population changed since the entitlements were generated ({cycle.planned_count}"
                    f" planned, {count} now; {cycle.planned_amount} planned, {amount} now). Send the cycle back to"
                    " draft, generate again and resubmit."
                }
            )
        left = budget_left(program)
        cursor.execute(
            "SELECT coalesce(sum(amount), 0) + coalesce(sum(fee), 0) FROM programs_entitlement"
            " WHERE cycle_id = %s AND status = 'draft'",
            [cycle.pk],
        )
        cost = cursor.fetchone()[0]
        if left is not None and cost > left:
            raise ValidationError(
                {"cycle": f"The cycle costs {cost} {program.currency}, more than the {left} left of the budget."}
            )
        cursor.execute(
            "UPDATE programs_entitlement SET status = 'approved' WHERE cycle_id = %s AND status = 'draft'", [cycle.pk]
        )
        if cycle.population != Cycle.Population.ENROLLED:
            run = EnrolmentRun.objects.create(
                program=program,
                action=EnrolmentRun.Action.ENROL,
                rule=cycle.rule,
                reason=f"cycle {cycle.sequence} approved",
                created_by=user,
                status=EnrolmentRun.Status.SUCCEEDED,
                started_at=timezone.now(),
                finished_at=timezone.now(),
                progress=100,
            )
            cursor.execute(
                "INSERT INTO programs_programmembership (program_id, household_id, state, reason, enrolled_on, run_id)"
                " SELECT DISTINCT %s::bigint, household_id, 'enrolled', %s, current_date, %s::bigint"
                " FROM programs_entitlement WHERE cycle_id = %s"
                " ON CONFLICT (program_id, household_id) DO UPDATE SET state = 'enrolled', reason = EXCLUDED.reason,"
                " enrolled_on = EXCLUDED.enrolled_on, state_changed_at = now(), run_id = EXCLUDED.run_id"
                " WHERE programs_programmembership.state IN ('exited', 'not_eligible')",
                [program.pk, run.reason, run.pk, cycle.pk],
            )
            run.result = {"added": cursor.rowcount}
            run.message = f"{cursor.rowcount} households enrolled by the cycle's approval"
            run.save(update_fields=["result", "message"])
    cycle.state = Cycle.State.APPROVED
    cycle.approved_by, cycle.approved_at = user, timezone.now()
    cycle.save()
    return cycle


@transaction.atomic
def cycle_return_to_draft(*, cycle: Cycle, user, reason: str = "") -> Cycle:
    """Send a submitted cycle back to draft (to regenerate after the population changed, or on the approver's
    request)."""
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if cycle.state != Cycle.State.TO_APPROVE:
        raise ValidationError({"state": f"Only submitted cycles go back to draft; this one is {cycle.state}."})
    cycle.state = Cycle.State.DRAFT
    cycle.submitted_by = cycle.submitted_at = None
    cycle.save()
    return cycle


# Later states: payments and distribution mark a cycle distributed when its transfers are done; ending closes it.
ADVANCES = {
    Cycle.State.DISTRIBUTED: (Cycle.State.APPROVED,),
    Cycle.State.ENDED: (Cycle.State.APPROVED, Cycle.State.DISTRIBUTED),
}


@transaction.atomic
def cycle_advance(*, cycle: Cycle, user, state: str) -> Cycle:
    """approved → distributed → ended (an approved cycle may also end directly)."""
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if state not in ADVANCES:
        raise ValidationError({"state": f"Choose {' or '.join(ADVANCES)}."})
    if cycle.state not in ADVANCES[state]:
        raise ValidationError({"state": f"A cycle that is {cycle.state} cannot become {state}."})
    cycle.state = state
    cycle.save()
    return cycle


@transaction.atomic
def cycle_cancel(*, cycle: Cycle, user, reason: str) -> Cycle:
    cycle = _lock(cycle)
    require_program_scope(user, cycle.program)
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why the cycle is cancelled."})
    if cycle.state not in (Cycle.State.DRAFT, Cycle.State.TO_APPROVE, Cycle.State.APPROVED):
        raise ValidationError({"state": f"A cycle that is {cycle.state} cannot be cancelled."})
    Entitlement.objects.filter(cycle=cycle).exclude(status=Entitlement.Status.CANCELLED).update(
        status=Entitlement.Status.CANCELLED
    )
    cycle.state, cycle.cancel_reason = Cycle.State.CANCELLED, reason.strip()[:255]
    cycle.save()
    return cycle
