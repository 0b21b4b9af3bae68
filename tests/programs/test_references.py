"""Entitlements and memberships name existing cycles, programs and households, and those are not deleted under
them: checked by the database once per statement (programs/sql/0013_entitlements_faster.sql) instead of a foreign
key per row. Raw SQL here, as a careless script would write, since the ORM checks nothing of this itself."""

from __future__ import annotations

import datetime
import re
import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from programs.models import Cycle, Entitlement, Program, ProgramMembership
from tests.factories import HouseholdFactory

MISSING = 987_654_321


def _program() -> Program:
    return Program.objects.create(name="References", currency="BDT", kind="emergency")


def _cycle(program: Program) -> Cycle:
    return Cycle.objects.create(
        program=program, sequence=1, starts_on=datetime.date(2026, 8, 1), ends_on=datetime.date(2026, 8, 28)
    )


def _entitle(cursor, cycle: Cycle, household_id: int) -> None:
    cursor.execute(
        "INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee, currency,"
        " people, flagged, flag_reason, valid_from, valid_until, status)"
        " VALUES (%s, %s, %s, 'cash', 1000, 0, 'BDT', 1, false, '', '2026-08-01', '2026-08-28', 'draft')",
        [cycle.pk, cycle.program_id, household_id],
    )


@pytest.mark.django_db
def test_children_must_name_existing_parents_and_nothing_is_stored_otherwise():
    program = _program()
    cycle = _cycle(program)
    household = HouseholdFactory()
    with connection.cursor() as cursor:
        with pytest.raises(IntegrityError, match=f"household_id={MISSING} does not exist"), transaction.atomic():
            # One good row and one bad row in one statement: the statement fails as a whole.
            cursor.execute(
                "INSERT INTO programs_programmembership (program_id, household_id, state, reason)"
                " VALUES (%s, %s, 'enrolled', ''), (%s, %s, 'enrolled', '')",
                [program.pk, household.pk, program.pk, MISSING],
            )
        with pytest.raises(IntegrityError, match=f"program_id={MISSING} does not exist"), transaction.atomic():
            cursor.execute(
                "INSERT INTO programs_programmembership (program_id, household_id, state, reason)"
                " VALUES (%s, %s, 'enrolled', '')",
                [MISSING, household.pk],
            )
        with pytest.raises(IntegrityError, match=f"household_id={MISSING} does not exist"), transaction.atomic():
            _entitle(cursor, cycle, MISSING)
        assert not ProgramMembership.objects.exists() and not Entitlement.objects.exists()

        _entitle(cursor, cycle, household.pk)
        with pytest.raises(IntegrityError, match=f"cycle_id={MISSING} does not exist"), transaction.atomic():
            cursor.execute("UPDATE programs_entitlement SET cycle_id = %s", [MISSING])
        with pytest.raises(IntegrityError, match=f"household_id={MISSING} does not exist"), transaction.atomic():
            cursor.execute("UPDATE programs_entitlement SET household_id = %s", [MISSING])
        # Changing other columns checks nothing and passes.
        cursor.execute("UPDATE programs_entitlement SET flag_reason = 'checked'")
    assert Entitlement.objects.get().household_id == household.pk


@pytest.mark.django_db
def test_a_referenced_parent_is_not_deleted_truncated_or_renumbered():
    program = _program()
    cycle = _cycle(program)
    household, other = HouseholdFactory(), HouseholdFactory()
    with connection.cursor() as cursor:
        # The factories' own deferred foreign-key checks, run now: TRUNCATE refuses to run with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _entitle(cursor, cycle, household.pk)
        cursor.execute(
            "INSERT INTO programs_programmembership (program_id, household_id, state, reason)"
            " VALUES (%s, %s, 'enrolled', '')",
            [program.pk, other.pk],
        )
        for statement, referenced in (
            (f"DELETE FROM registry_household WHERE id = {household.pk}", "programs_entitlement.household_id"),
            (f"DELETE FROM registry_household WHERE id = {other.pk}", "programs_programmembership.household_id"),
            (f"DELETE FROM programs_cycle WHERE id = {cycle.pk}", "programs_entitlement.cycle_id"),
            (f"UPDATE programs_cycle SET id = {MISSING} WHERE id = {cycle.pk}", "programs_entitlement.cycle_id"),
            ("TRUNCATE programs_cycle CASCADE", "programs_entitlement.cycle_id"),
        ):
            with (
                pytest.raises(IntegrityError, match=re.escape(f"still referenced from {referenced}")),
                transaction.atomic(),
            ):
                cursor.execute(statement)
        # Children first, then their parents: as every writer does.
        cursor.execute("DELETE FROM programs_entitlement")
        cursor.execute("DELETE FROM programs_cycle WHERE id = %s", [cycle.pk])
        with pytest.raises(IntegrityError, match=r"programs_programmembership\.program_id"), transaction.atomic():
            cursor.execute("DELETE FROM programs_program WHERE id = %s", [program.pk])
        cursor.execute("DELETE FROM programs_programmembership")
        cursor.execute("DELETE FROM registry_household WHERE id IN (%s, %s)", [household.pk, other.pk])
        cursor.execute("DELETE FROM programs_program WHERE id = %s", [program.pk])
    assert not Program.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_household_deleted_while_another_transaction_entitles_it_is_refused():
    """The deleting statement waits for the transaction still writing entitlements, then sees its rows: the
    household stays, whichever commits first would otherwise leave an orphan."""
    program = _program()
    cycle = _cycle(program)
    household = HouseholdFactory()
    inserted, outcome = threading.Event(), {}

    def delete_household() -> None:
        inserted.wait(timeout=30)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM registry_household WHERE id = %s", [household.pk])
            outcome["deleted"] = True
        except IntegrityError as error:
            outcome["refused"] = str(error)
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_household)
    deleter.start()
    with transaction.atomic(), connection.cursor() as cursor:
        _entitle(cursor, cycle, household.pk)
        inserted.set()
        time.sleep(1)  # the deleter is now waiting for this transaction (SHARE lock on programs_entitlement)
        assert deleter.is_alive()
    deleter.join(timeout=30)
    assert "still referenced from programs_entitlement.household_id" in outcome.get("refused", ""), outcome
    assert Entitlement.objects.filter(household_id=household.pk).exists()
    connections.close_all()
