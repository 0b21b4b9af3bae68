-- The check that a payment changed only its status, written so that it costs one pass over the changed rows.
-- Versioned by file name: change behaviour in a new file and a new migration.
--
-- 0008 asked `IF EXISTS (SELECT 1 FROM old_payments JOIN new_payments ...)`. The transition tables have no
-- statistics, so the planner expects many offending rows and, for EXISTS, picks the plan that finds the first one
-- soonest: a nested loop over both tables. There is none to find, so it compared every old row with every new one:
-- 10 s for 5,000 payments moved by one statement, hours for a million (bench/payments.py). Counting them makes the
-- planner cost the whole join, which it does as one hash join.
CREATE OR REPLACE FUNCTION programs_payment_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused bigint;
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'payments change only through the payment ledger (programs_paymentevent)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*) INTO refused
      FROM old_payments o JOIN new_payments n ON n.id = o.id
     WHERE (n.batch_id, n.entitlement_id, n.household_id, n.account_id, n.account_changed_at, n.amount, n.fee,
            n.currency, n.flagged, n.flag_reason, n.reissue_of_id, n.created_at)
           IS DISTINCT FROM
           (o.batch_id, o.entitlement_id, o.household_id, o.account_id, o.account_changed_at, o.amount, o.fee,
            o.currency, o.flagged, o.flag_reason, o.reissue_of_id, o.created_at)
        OR (n.status <> o.status AND NOT programs_payment_may_become(o.status, n.status));
    IF refused > 0 THEN
        RAISE EXCEPTION 'a payment''s beneficiary, account and amount are fixed, and its status moves forward only'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
