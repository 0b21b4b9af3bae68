-- The check that a payment changes only its status, and only forward, made per row as the rows change instead of by
-- joining two copies of every changed row afterwards. Same rules, same messages and error codes as 0008/0009.
-- Versioned by file name: change behaviour in a new file and a new migration.
--
-- 0009's statement trigger needed the UPDATE's old and new rows as transition tables: PostgreSQL copies each changed
-- row twice into them, and the check joined the two (~1.4 µs a payment, a sixth of reconciling a status file at a
-- million payments, bench/payments.py). An AFTER ROW trigger whose WHEN clause is false queues nothing: the clause,
-- an expression over the old and new row the executor already holds, is the whole cost, and the function runs (and
-- refuses the statement) only for a row that breaks the rule.

-- Only the ledger's trigger changes payments: an UPDATE from anywhere else (pg_trigger_depth() is 1 there) is
-- refused before it changes a row.
CREATE OR REPLACE FUNCTION programs_payment_only_by_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'payments change only through the payment ledger (programs_paymentevent)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION programs_payment_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a payment''s beneficiary, account and amount are fixed, and its status moves forward only'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

DROP TRIGGER IF EXISTS programs_payment_check_update ON programs_payment;
DROP TRIGGER IF EXISTS programs_payment_only_by_ledger ON programs_payment;
CREATE TRIGGER programs_payment_only_by_ledger BEFORE UPDATE ON programs_payment
    FOR EACH STATEMENT EXECUTE FUNCTION programs_payment_only_by_ledger();
-- Inside the ledger: a changed amount, beneficiary or account, or a move the transitions do not allow, is refused.
CREATE TRIGGER programs_payment_check_update AFTER UPDATE ON programs_payment FOR EACH ROW
    WHEN ((NEW.batch_id, NEW.entitlement_id, NEW.household_id, NEW.account_id, NEW.account_changed_at, NEW.amount,
           NEW.fee, NEW.currency, NEW.flagged, NEW.flag_reason, NEW.reissue_of_id, NEW.created_at)
          IS DISTINCT FROM
          (OLD.batch_id, OLD.entitlement_id, OLD.household_id, OLD.account_id, OLD.account_changed_at, OLD.amount,
           OLD.fee, OLD.currency, OLD.flagged, OLD.flag_reason, OLD.reissue_of_id, OLD.created_at)
          OR (NEW.status <> OLD.status AND NOT programs_payment_may_become(OLD.status, NEW.status)))
    EXECUTE FUNCTION programs_payment_refuse_change();

DROP FUNCTION IF EXISTS programs_payment_check_update();
