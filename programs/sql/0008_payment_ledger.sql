-- Payments: batch codes, the append-only payment ledger, and the rule that a payment's status moves only through it.
-- Versioned by file name: change behaviour in a new file and a new migration.

-- Batch codes (PAY-000001-8) from their own sequence, with the Luhn check digit of the other codes.
CREATE SEQUENCE IF NOT EXISTS programs_paymentbatch_code_seq;

CREATE OR REPLACE FUNCTION programs_next_code(kind text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    IF kind = 'PRG' THEN
        n := nextval('programs_program_code_seq');
        RETURN 'PRG-' || lpad(n::text, 6, '0') || '-' || registry_luhn(n)::text;
    END IF;
    IF kind = 'PAY' THEN
        n := nextval('programs_paymentbatch_code_seq');
        RETURN 'PAY-' || lpad(n::text, 6, '0') || '-' || registry_luhn(n)::text;
    END IF;
    n := nextval('programs_entitlement_code_seq');
    RETURN 'ENT-' || lpad(n::text, 10, '0') || '-' || registry_luhn(n)::text;
END
$$;

-- The states a payment may move to from where it is. Paid, failed, returned and cancelled are where a payment ends,
-- but a paid payment may still come back (returned). Nothing ever leaves failed: a failed payment is re-issued as a
-- new payment, never revived, so a late "paid" for it is listed for a person to check rather than applied.
CREATE OR REPLACE FUNCTION programs_payment_may_become(current_status text, next_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE current_status
        WHEN 'pending' THEN next_status IN ('sent', 'failed', 'cancelled')
        WHEN 'sent' THEN next_status IN ('accepted', 'paid', 'failed')
        WHEN 'accepted' THEN next_status IN ('paid', 'failed')
        WHEN 'paid' THEN next_status = 'returned'
        ELSE false
    END
$$;

-- The order in which states follow one another (for events of several states written by one statement).
CREATE OR REPLACE FUNCTION programs_payment_status_rank(status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'accepted' THEN 2 WHEN 'paid' THEN 3
                       WHEN 'failed' THEN 3 WHEN 'cancelled' THEN 3 WHEN 'returned' THEN 4 END::smallint
$$;

-- The ledger is append-only, like the audit log: no UPDATE, no DELETE; TRUNCATE only in a test session that says so.
CREATE OR REPLACE FUNCTION programs_ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION programs_ledger_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS programs_paymentevent_append_only ON programs_paymentevent;
CREATE TRIGGER programs_paymentevent_append_only BEFORE UPDATE OR DELETE ON programs_paymentevent
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_change();
DROP TRIGGER IF EXISTS programs_paymentevent_no_truncate ON programs_paymentevent;
CREATE TRIGGER programs_paymentevent_no_truncate BEFORE TRUNCATE ON programs_paymentevent
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_truncate();

-- Payments are never deleted (a cancelled batch cancels them through the ledger).
DROP TRIGGER IF EXISTS programs_payment_no_delete ON programs_payment;
CREATE TRIGGER programs_payment_no_delete BEFORE DELETE ON programs_payment
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_change();
DROP TRIGGER IF EXISTS programs_payment_no_truncate ON programs_payment;
CREATE TRIGGER programs_payment_no_truncate BEFORE TRUNCATE ON programs_payment
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_truncate();

-- A payment starts pending; every later state comes from an event.
CREATE OR REPLACE FUNCTION programs_payment_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_payments WHERE status <> 'pending') THEN
        RAISE EXCEPTION 'a payment starts pending; its later states are written as payment events'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_payment_check_insert ON programs_payment;
CREATE TRIGGER programs_payment_check_insert AFTER INSERT ON programs_payment
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION programs_payment_check_insert();

-- Events move their payment's status, along the allowed transitions only; an event for a move that is not allowed
-- stays in the ledger as what the provider said, and changes nothing. One UPDATE per state present in the
-- statement, in the order states follow one another, so a statement writing "sent" and "paid" gets both right.
CREATE OR REPLACE FUNCTION programs_paymentevent_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    step smallint;
BEGIN
    FOR step IN SELECT DISTINCT programs_payment_status_rank(status) FROM new_events ORDER BY 1 LOOP
        UPDATE programs_payment p
           SET status = e.status, status_at = e.at, reason_code = e.reason_code, reason = e.reason
          FROM new_events e
         WHERE programs_payment_status_rank(e.status) = step AND p.id = e.payment_id
           AND programs_payment_may_become(p.status, e.status);
    END LOOP;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_paymentevent_apply ON programs_paymentevent;
CREATE TRIGGER programs_paymentevent_apply AFTER INSERT ON programs_paymentevent
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION programs_paymentevent_apply();

-- Only the ledger's trigger changes a payment, and only its status: an UPDATE from anywhere else (pg_trigger_depth()
-- is 1 there), a changed amount, beneficiary or account, or a move the transitions do not allow, is refused.
CREATE OR REPLACE FUNCTION programs_payment_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'payments change only through the payment ledger (programs_paymentevent)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (
        SELECT 1 FROM old_payments o JOIN new_payments n ON n.id = o.id
         WHERE (n.batch_id, n.entitlement_id, n.household_id, n.account_id, n.account_changed_at, n.amount, n.fee,
                n.currency, n.flagged, n.flag_reason, n.reissue_of_id, n.created_at)
               IS DISTINCT FROM
               (o.batch_id, o.entitlement_id, o.household_id, o.account_id, o.account_changed_at, o.amount, o.fee,
                o.currency, o.flagged, o.flag_reason, o.reissue_of_id, o.created_at)
            OR (n.status <> o.status AND NOT programs_payment_may_become(o.status, n.status))
    ) THEN
        RAISE EXCEPTION 'a payment''s beneficiary, account and amount are fixed, and its status moves forward only'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_payment_check_update ON programs_payment;
CREATE TRIGGER programs_payment_check_update AFTER UPDATE ON programs_payment
    REFERENCING OLD TABLE AS old_payments NEW TABLE AS new_payments
    FOR EACH STATEMENT EXECUTE FUNCTION programs_payment_check_update();
