"""Batches and the payment ledger, in the database: preparing makes one payment per approved cash entitlement and
never a second live one; the ledger is append-only and is the only way a payment's status moves."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from programs.payments.models import Payment, PaymentBatch, PaymentEvent, PaymentReport
from programs.payments.selectors import balances
from programs.payments.services import batch_cancel, batch_prepare
from programs.payments.services.ledger import record_events
from tests.programs.payments_setup import approved_cycle_with_accounts, on_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(flood):
    return approved_cycle_with_accounts(flood)


def prepare(world, user=None):
    run = on_commit(batch_prepare, cycle=world.cycle, fsp=world.fsp, user=user or world.officer)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return PaymentBatch.objects.get(pk=run.batch_id)


def assert_balanced(**scope):
    """planned = paid + failed + returned + pending, to the cent, and every payment's status is what its events
    say (the latest state along the transitions)."""
    figures = balances(**scope)
    parts = ("paid", "failed", "returned", "pending")
    assert figures["planned"]["amount"] == sum(figures[part]["amount"] for part in parts)
    assert figures["planned"]["count"] == sum(figures[part]["count"] for part in parts)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM programs_payment p
                WHERE p.status <> coalesce((SELECT e.status FROM programs_paymentevent e WHERE e.payment_id = p.id
                                             ORDER BY programs_payment_status_rank(e.status) DESC, e.id DESC
                                             LIMIT 1), 'pending')"""
        )
        assert cursor.fetchone()[0] == 0
    return figures


def test_prepare_makes_one_pending_payment_per_entitlement_with_control_totals(world):
    batch = prepare(world)
    assert batch.status == "prepared" and batch.code.startswith("PAY-")
    assert batch.payment_count == 8 and batch.payment_sum == Decimal("58000")
    payments = Payment.objects.filter(batch=batch)
    assert {p.status for p in payments} == {"pending"}
    assert all(p.end_to_end_id == f"SPM{p.pk:013d}" for p in payments)
    # Every account was approved just now: each payment is flagged for a second look.
    assert batch.flagged_count == 8 and "account changed on" in payments[0].flag_reason
    figures = assert_balanced(batch_ids=[batch.pk])
    assert figures["pending"] == {"count": 8, "amount": Decimal("58000")}


def test_a_second_batch_finds_nothing_to_pay_and_the_database_refuses_a_second_live_payment(world):
    batch = prepare(world)
    with pytest.raises(ValidationError, match="waiting for release"):
        on_commit(batch_prepare, cycle=world.cycle, fsp=world.fsp, user=world.officer)
    # Even written by hand, a second live payment of an entitlement is refused by the database.
    payment = Payment.objects.filter(batch=batch).first()
    other = PaymentBatch.objects.create(
        cycle=world.cycle,
        program=world.cycle.program,
        fsp=world.fsp,
        currency="BDT",
        execution_date=batch.execution_date,
        prepared_by=world.officer,
        status="cancelled",
    )
    with pytest.raises(IntegrityError, match="programs_payment_one_live"), transaction.atomic():
        Payment.objects.create(
            batch=other,
            entitlement_id=payment.entitlement_id,
            household_id=payment.household_id,
            account_id=payment.account_id,
            account_changed_at=payment.account_changed_at,
            amount=payment.amount,
            currency="BDT",
        )


def test_the_ledger_is_append_only_and_the_only_way_a_status_moves(world):
    batch = prepare(world)
    payment = Payment.objects.filter(batch=batch).first()
    with pytest.raises(Exception, match="payment ledger"), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(status="paid")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()
    with transaction.atomic():
        assert record_events(batch=batch, status="sent") == 8
        assert record_events(batch=batch, status="sent") == 0  # each state once
        assert record_events(batch=batch, status="paid", where="id = %s", params=[payment.pk]) == 1
    payment.refresh_from_db()
    assert payment.status == "paid"
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        PaymentEvent.objects.filter(payment=payment).update(reason="edited")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        PaymentEvent.objects.filter(payment=payment).delete()
    # A move the transitions do not allow (paid back to accepted) is written nowhere.
    assert record_events(batch=batch, status="accepted", where="id = %s", params=[payment.pk]) == 0
    payment.refresh_from_db()
    assert payment.status == "paid"
    assert_balanced(batch_ids=[batch.pk])


def test_a_cancelled_batch_frees_its_entitlements_for_a_new_batch(world):
    batch = prepare(world)
    batch_cancel(batch=batch, user=world.officer, reason="wrong execution date")
    assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"cancelled"}
    again = prepare(world)
    assert again.payment_count == 8 and again.pk != batch.pk
    figures = assert_balanced(cycle_id=world.cycle.pk)
    assert figures["planned"]["amount"] == Decimal("58000") and figures["cancelled"]["count"] == 8


def test_inside_the_ledger_a_payment_still_changes_only_its_status_and_only_forward(world):
    """The check behind the ledger's trigger (programs_payment_check_update), reached the way the ledger reaches it:
    an UPDATE from inside a trigger. A forward move of every payment passes; a changed amount, or a move the
    transitions do not allow, is refused for the whole statement."""
    batch = prepare(world)
    ids = list(Payment.objects.filter(batch=batch).order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE poke (id bigint, amount_delta numeric, status text)")
        cursor.execute(
            """CREATE FUNCTION pg_temp.poke() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                   UPDATE programs_payment p SET amount = p.amount + n.amount_delta, status = n.status
                     FROM new_rows n WHERE p.id = n.id;
                   RETURN NULL;
               END $$"""
        )
        cursor.execute(
            "CREATE TRIGGER poke AFTER INSERT ON poke REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION pg_temp.poke()"
        )
        cursor.execute("INSERT INTO poke SELECT unnest(%s::bigint[]), 0, 'sent'", [ids])
        assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"sent"}
        # All eight move forward to paid but the last one's amount changes; then all eight move back to pending.
        for delta, status in ((Decimal("1"), "paid"), (Decimal("0"), "pending")):
            rows = [(pk, delta if pk == ids[-1] else Decimal(0), status) for pk in ids]
            with pytest.raises(IntegrityError, match="status moves forward only"), transaction.atomic():
                cursor.execute(
                    "INSERT INTO poke SELECT * FROM unnest(%s::bigint[], %s::numeric[], %s::text[])",
                    [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
                )
    assert set(Payment.objects.filter(batch=batch).values_list("amount", flat=True)) <= {
        Decimal("8000"),
        Decimal("5000"),
    }
    assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"sent"}


def insert_event(payment_id: int, batch_id: int, status: str = "sent", *, file_id=None, report_id=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO programs_paymentevent (payment_id, batch_id, status, reason_code, reason, actor, file_id,"
            " report_id) VALUES (%s, %s, %s, '', '', 'test', %s, %s)",
            [payment_id, batch_id, status, file_id, report_id],
        )


def test_the_ledgers_references_are_enforced_by_the_database_once_per_statement(world):
    """Events carry no per-row foreign keys (programs/sql/0013): one check per statement refuses an event for a
    payment, file or report that does not exist, and a file or report that events name cannot be deleted."""
    batch = prepare(world)
    payment = Payment.objects.filter(batch=batch).first()
    missing = Payment.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(IntegrityError, match="name no payment"), transaction.atomic():
        insert_event(missing, batch.pk)
    report = PaymentReport.objects.create(fsp=world.fsp, name="r.xml", sha256="0" * 64, path="x", source="upload")
    with pytest.raises(IntegrityError, match="programs_paymentreport that do not exist"), transaction.atomic():
        insert_event(payment.pk, batch.pk, report_id=report.pk + 1000)
    with pytest.raises(IntegrityError, match="programs_paymentfile that do not exist"), transaction.atomic():
        insert_event(payment.pk, batch.pk, file_id=123456)
    assert PaymentEvent.objects.count() == 0
    insert_event(payment.pk, batch.pk, report_id=report.pk)
    assert PaymentEvent.objects.get().report_id == report.pk
    payment.refresh_from_db()
    assert payment.status == "sent"
    with pytest.raises(IntegrityError, match="named by payment events"), transaction.atomic():
        PaymentReport.objects.filter(pk=report.pk)._raw_delete(PaymentReport.objects.db)
    with pytest.raises(IntegrityError, match="named by payment events"), transaction.atomic():
        PaymentReport.objects.filter(pk=report.pk).update(id=report.pk + 1000)
    # A report no event names goes as before; TRUNCATE only where the ledger itself may be truncated.
    spare = PaymentReport.objects.create(fsp=world.fsp, name="s.xml", sha256="1" * 64, path="y", source="upload")
    PaymentReport.objects.filter(pk=spare.pk)._raw_delete(PaymentReport.objects.db)
    with (
        pytest.raises(IntegrityError, match=r"named by payment events \(TRUNCATE refused\)"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows made above have their checks pending
        cursor.execute("SET LOCAL spmis.audit_truncate = ''")
        cursor.execute("TRUNCATE programs_paymentreport CASCADE")
    assert PaymentReport.objects.filter(pk=report.pk).exists()


def test_a_payments_references_are_enforced_by_the_database_once_per_statement(world):
    """Payments carry no per-row foreign keys (programs/sql/0014, 0015): a payment naming a batch, entitlement,
    account or payment that does not exist, another household than its entitlement's, an account of another
    household or a payment of another entitlement to re-issue is refused with the statement, and what payments name
    is not deleted."""
    batch = prepare(world)
    payment, other = Payment.objects.filter(batch=batch).order_by("pk")[:2]
    assert other.household_id != payment.household_id and other.account_id
    columns = (
        "batch_id, entitlement_id, household_id, account_id, reissue_of_id, amount, fee, currency, status,"
        " reason_code, reason, flagged, flag_reason"
    )
    before = Payment.objects.count()
    with connection.cursor() as cursor:
        # An entitlement with no payment yet (its in-kind twin), so that only the reference under test is wrong.
        cursor.execute(
            "INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee, currency,"
            " incident_id, people, flagged, flag_reason, valid_from, valid_until, status)"
            " SELECT cycle_id, program_id, household_id, 'in_kind', NULL, 0, '', incident_id, people, false, '',"
            " valid_from, valid_until, 'approved' FROM programs_entitlement WHERE id = %s RETURNING id",
            [payment.entitlement_id],
        )
        unpaid = cursor.fetchone()[0]
    good = [batch.pk, unpaid, payment.household_id, payment.account_id, None]
    missing = 987_654_321
    wrong = {
        "batch_id": (missing, f"batch_id={missing} does not exist"),
        "entitlement_id": (missing, f"entitlement_id={missing} does not exist"),
        "household_id": (other.household_id, f"household_id={other.household_id} is not the household of entitlement"),
        "account_id": (missing, f"account_id={missing} does not exist"),
        "reissue_of_id": (missing, f"reissue_of_id={missing} does not exist"),
    }
    cases = [(column, *wrong[column]) for column in wrong]
    cases += [
        ("account_id", other.account_id, f"account_id={other.account_id} belongs to household {other.household_id}"),
        ("reissue_of_id", other.pk, f"reissue_of_id={other.pk} pays entitlement {other.entitlement_id}"),
    ]
    positions = ("batch_id", "entitlement_id", "household_id", "account_id", "reissue_of_id")
    for column, value, message in cases:
        values = list(good)
        values[positions.index(column)] = value
        with (
            pytest.raises(IntegrityError, match=message),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"INSERT INTO programs_payment ({columns})"
                " VALUES (%s, %s, %s, %s, %s, 1, 0, 'BDT', 'pending', '', '', false, '')",
                values,
            )
    assert Payment.objects.count() == before
    for statement, parameters in (
        ("DELETE FROM programs_paymentbatch WHERE id = %s", [batch.pk]),
        ("DELETE FROM programs_paymentaccount WHERE id = %s", [payment.account_id]),
    ):
        with (
            pytest.raises(IntegrityError, match=r"still referenced from programs_payment\."),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, parameters)
    assert PaymentBatch.objects.filter(pk=batch.pk).exists()


def test_moving_payments_is_a_hot_update_and_one_live_payment_still_holds(world):
    """No index names a payment's status: sent and paid rewrite no index entry (HOT), and the unique index on live
    payments still follows failures (a failed payment frees its entitlement, a live one does not)."""
    batch = prepare(world)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('programs_payment'::regclass)")
        before = cursor.fetchone()[0]
        assert record_events(batch=batch, status="sent") == 8
        assert record_events(batch=batch, status="paid") == 8
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated('programs_payment'::regclass),"
            " pg_stat_get_xact_tuples_hot_updated('programs_payment'::regclass)"
        )
        updated, hot = cursor.fetchone()
    assert hot - before == 16 and updated >= 16
    assert set(Payment.objects.filter(batch=batch).values_list("live", flat=True)) == {True}
    payment = Payment.objects.filter(batch=batch).first()
    assert record_events(batch=batch, status="returned", where="id = %s", params=[payment.pk], reason_code="AC04") == 1
    payment.refresh_from_db()
    assert payment.status == "returned" and payment.live is False
    assert_balanced(batch_ids=[batch.pk])


def _in_thread(work, results: list, *, hold: threading.Event | None = None) -> threading.Thread:
    """Run `work(cursor)` in its own connection and transaction (committed after `hold` is set, when given); what
    it raised, or None, goes to `results`."""

    def run() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                work(cursor)
                if hold is not None:
                    assert hold.wait(20)
            results.append(None)
        except Exception as error:
            results.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_report_deleted_while_events_naming_it_are_written_is_refused_either_way(world):
    """The statement-level check locks the report as a foreign key would: whichever of the two transactions comes
    first, the other waits for it and then refuses, so no event is left naming a report that is gone."""
    batch = prepare(world)
    payments = list(Payment.objects.filter(batch=batch).order_by("id").values_list("id", flat=True))

    def new_report(n: int) -> PaymentReport:
        return PaymentReport.objects.create(fsp=world.fsp, name=f"{n}.xml", sha256=f"{n}" * 64, path="x")

    def delete(report):
        return lambda cursor: cursor.execute("DELETE FROM programs_paymentreport WHERE id = %s", [report.pk])

    # Events first: the DELETE waits for them to commit, then sees them.
    report = new_report(1)
    hold, first, second = threading.Event(), [], []
    inserting = _in_thread(lambda cursor: insert_event(payments[0], batch.pk, report_id=report.pk), first, hold=hold)
    time.sleep(0.5)
    deleting = _in_thread(delete(report), second)
    time.sleep(0.5)
    assert deleting.is_alive()  # waiting for the events' transaction
    hold.set()
    inserting.join(20), deleting.join(20)
    assert first == [None] and "named by payment events" in str(second[0])
    assert PaymentReport.objects.filter(pk=report.pk).exists()

    # The DELETE first: the events wait for it to commit, then find the report gone.
    report = new_report(2)
    hold, first, second = threading.Event(), [], []
    deleting = _in_thread(delete(report), first, hold=hold)
    time.sleep(0.5)
    inserting = _in_thread(lambda cursor: insert_event(payments[1], batch.pk, report_id=report.pk), second)
    time.sleep(0.5)
    assert inserting.is_alive()
    hold.set()
    deleting.join(20), inserting.join(20)
    assert first == [None] and "programs_paymentreport that do not exist" in str(second[0])
    assert not PaymentEvent.objects.filter(report_id=report.pk).exists()
