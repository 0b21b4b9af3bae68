"""Enrolment, pause, resume and exit: set-based, each one audited operation row (EnrolmentRun), scoped by the
officer's areas and the program's."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from programs.eligibility import RuleContext
from programs.models import EnrolmentRun, Program, ProgramMembership
from programs.population import arithmetic_checked, household_scope_sql, rule_or_error
from programs.services.programs import program_latest_run_id, require_program_scope
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

# action: (states it applies to, state it leaves)
TRANSITIONS = {
    EnrolmentRun.Action.PAUSE: (("enrolled",), ProgramMembership.State.PAUSED),
    EnrolmentRun.Action.RESUME: (("paused",), ProgramMembership.State.ENROLLED),
    EnrolmentRun.Action.EXIT: (("enrolled", "paused", "duplicate"), ProgramMembership.State.EXITED),
}


@transaction.atomic
def enrolment_start(*, program: Program, user, rule: str | None = None, reason: str = "") -> EnrolmentRun:
    """Queue the enrolment of every active household matching `rule` (the program's eligibility rule when none is
    given) that is not a member yet. The rule is checked now, so a bad rule is a 400 and no job row."""
    require_program_scope(user, program)
    if program.status == Program.Status.CLOSED:
        raise ValidationError({"program": f"Program {program.code} is closed."})
    text = program.eligibility_rule if rule is None or not rule.strip() else rule
    rule_or_error(text, RuleContext(exposure_run_id=program_latest_run_id(program), program_id=program.pk))
    run = EnrolmentRun.objects.create(
        program=program, action=EnrolmentRun.Action.ENROL, rule=text, reason=reason[:255], created_by=user
    )
    enqueue_on_commit("programs.enrolment", run.pk)
    return run


def enrolment_execute(*, run_id: int) -> EnrolmentRun:
    def work(run: EnrolmentRun, progress) -> JobOutcome:
        program = run.program
        context = RuleContext(exposure_run_id=program_latest_run_id(program), program_id=program.pk)
        compiled = rule_or_error(run.rule, context)
        duplicate = sql.SQL("false")
        incident_ids = list(program.incidents.values_list("id", flat=True))
        if incident_ids:
            # Enrolled in another program for one of this program's incidents: flagged, or refused by policy.
            duplicate = sql.SQL(
                "EXISTS (SELECT 1 FROM programs_programmembership om"
                " JOIN programs_program_incidents pi ON pi.program_id = om.program_id AND pi.incident_id = ANY({ids})"
                " WHERE om.household_id = h.id AND om.program_id <> {program} AND om.state = 'enrolled')"
            ).format(ids=sql.Literal(incident_ids), program=sql.Literal(program.pk))
        refuse = program.duplicate_policy == Program.DuplicatePolicy.REFUSE
        progress(10, "Enrolling")
        # The run's counts come from its own INSERT's rows (RETURNING): no second pass, no index on run_id.
        statement = sql.SQL(
            "WITH added AS (INSERT INTO programs_programmembership (program_id, household_id, state, reason,"
            " enrolled_on, state_changed_at, run_id)"
            " SELECT {program}, h.id,"
            " CASE WHEN {refuse} AND {duplicate} THEN 'duplicate' ELSE 'enrolled' END,"
            " CASE WHEN {duplicate} THEN 'also enrolled in another program for the same incident'"
            " ELSE {reason} END, CASE WHEN {refuse} AND {duplicate} THEN NULL ELSE current_date END, now(), {run}"
            " FROM registry_household h {joins}"
            " WHERE h.status = 'active' AND ({rule}) AND {scope}"
            " ON CONFLICT (program_id, household_id) DO NOTHING RETURNING state)"
            " SELECT count(*), count(*) FILTER (WHERE state = 'enrolled'), count(*) FILTER (WHERE state = 'duplicate')"
            " FROM added"
        ).format(
            program=sql.Literal(program.pk),
            refuse=sql.Literal(refuse),
            duplicate=duplicate,
            reason=sql.Literal(run.reason),
            run=sql.Literal(run.pk),
            joins=compiled.joins,
            rule=compiled.where,
            scope=household_scope_sql(run.created_by, program),
        )
        with connection.cursor() as cursor, arithmetic_checked():
            cursor.execute(statement.as_string(cursor.connection))
            added, enrolled, duplicates = cursor.fetchone()
            if added > 10_000:
                # A cycle is usually generated right after a large enrolment, before autovacuum has looked at the
                # table: with the old statistics (a few rows) its population is planned as a scan of every
                # membership per chunk. ANALYZE samples a fixed number of rows and counts this transaction's own.
                cursor.execute("ANALYZE programs_programmembership")
        return JobOutcome(
            result={"added": added, "enrolled": enrolled, "duplicate": duplicates},
            message=f"{enrolled} households enrolled" + (f", {duplicates} refused as duplicates" if duplicates else ""),
        )

    return run_job(EnrolmentRun, run_id, work, error_field="rule")


@transaction.atomic
def membership_change(*, program: Program, user, action: str, households: list[int], reason: str = "") -> EnrolmentRun:
    """Pause, resume or exit the given households' memberships in one statement. Households that are not members,
    not in a state the action applies to, or outside the user's areas are reported, not changed."""
    require_program_scope(user, program)
    if action not in TRANSITIONS:
        raise ValidationError({"action": f"Choose one of {', '.join(TRANSITIONS)}, not {action!r}."})
    if not households:
        raise ValidationError({"households": "Name at least one household."})
    if not reason.strip() and action != EnrolmentRun.Action.RESUME:
        raise ValidationError({"reason": "Say why (it is kept with the membership)."})
    from_states, to_state = TRANSITIONS[action]
    run = EnrolmentRun.objects.create(
        program=program,
        action=action,
        reason=reason[:255],
        created_by=user,
        status=EnrolmentRun.Status.SUCCEEDED,
        parameters={"households": households[:10000]},
        started_at=timezone.now(),
    )
    statement = sql.SQL(
        "UPDATE programs_programmembership m SET state = {to}, reason = {reason}, state_changed_at = now(),"
        " run_id = {run}"
        " FROM registry_household h WHERE h.id = m.household_id AND m.program_id = {program}"
        " AND m.household_id = ANY({ids}) AND m.state = ANY({states}) AND {scope} RETURNING m.household_id"
    ).format(
        to=sql.Literal(str(to_state)),
        reason=sql.Literal(reason[:255]),
        run=sql.Literal(run.pk),
        program=sql.Literal(program.pk),
        ids=sql.Literal(list(households)),
        states=sql.Literal(list(from_states)),
        scope=household_scope_sql(user, program),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection))
        changed = {row[0] for row in cursor.fetchall()}
    skipped = sorted(set(households) - changed)
    if not changed:
        raise ValidationError(
            {"households": f"None of these households is a member in a state that can be {action}d (or in your areas)."}
        )
    run.result = {"changed": len(changed), "skipped": skipped[:1000]}
    if action == EnrolmentRun.Action.RESUME:
        # Entitlements paused with the membership (a recorded death, programs.services.deaths) come back to what
        # their cycle allows: approved once the cycle was approved, draft before, cancelled with a cancelled cycle.
        resumed = sql.SQL(
            "UPDATE programs_entitlement e SET status = CASE WHEN c.state = 'cancelled' THEN 'cancelled'"
            " WHEN c.state IN ('approved', 'distributed', 'ended') THEN 'approved' ELSE 'draft' END"
            " FROM programs_cycle c WHERE c.id = e.cycle_id AND e.program_id = {program}"
            " AND e.household_id = ANY({ids}) AND e.status = 'paused'"
        ).format(program=sql.Literal(program.pk), ids=sql.Literal(sorted(changed)))
        with connection.cursor() as cursor:
            cursor.execute(resumed.as_string(cursor.connection))
            run.result["entitlements_resumed"] = cursor.rowcount
    run.message = f"{len(changed)} memberships {to_state}" + (f", {len(skipped)} skipped" if skipped else "")
    run.progress = 100
    run.finished_at = timezone.now()
    run.save(update_fields=["result", "message", "progress", "finished_at"])
    return run
