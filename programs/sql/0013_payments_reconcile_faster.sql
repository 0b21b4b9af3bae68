-- The payment ledger at a million payments a statement (bench/payments.py): the same rules, checked per statement.
-- Versioned by file name: change behaviour in a new file and a new migration.
--
-- 1. Moving a payment is a HOT update. Every event rewrote its payment with a new entry in each of the table's seven
-- indexes, because the status was in two of them (programs_payment_batch_status, and the predicate of
-- programs_payment_one_live). The migration drops the first and makes the second name the generated column `live`,
-- which changes only when a payment fails, comes back or is cancelled. The new version of a row can then stay on
-- its page, if the page has room for it: a statement moves every payment of a file (sent) or of a report (paid), so
-- a page needs room for a second version of each of its rows. Half-full pages give it; the first version is pruned
-- away before the next move needs the room.
ALTER TABLE programs_payment SET (fillfactor = 50);

-- 2. The events' payment, file and report are checked once per statement, with the same meaning as the foreign keys
-- they replace (which checked each row, at commit, ~4 µs an event and a lock on each payment row).

-- Files and reports are few per statement. They are locked as a foreign key locks them (FOR KEY SHARE), so that a
-- DELETE running at the same time waits for this transaction and then finds its events
-- (programs_paymentevent_referenced), or this one waits for the DELETE and finds the row gone.
CREATE OR REPLACE FUNCTION programs_paymentevent_lock_named(referenced regclass, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    IF ids IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE id = ANY ($1) FOR KEY SHARE) named', referenced)
        INTO found USING ids;
    IF found < cardinality(ids) THEN
        RAISE EXCEPTION 'payment events name % row(s) of % that do not exist', cardinality(ids) - found, referenced
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION programs_paymentevent_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
    files bigint[];
    reports bigint[];
BEGIN
    -- Payments are never deleted (programs_payment_no_delete) and only the ledger's trigger changes them, never
    -- their id: a payment seen here stays, so it needs no lock. count(*) makes the planner cost the whole anti-join
    -- (see 0009) rather than the first row.
    SELECT count(*) INTO missing
      FROM new_events e WHERE NOT EXISTS (SELECT 1 FROM programs_payment p WHERE p.id = e.payment_id);
    IF missing > 0 THEN
        RAISE EXCEPTION '% payment event(s) name no payment', missing USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT array_agg(DISTINCT file_id) FILTER (WHERE file_id IS NOT NULL),
           array_agg(DISTINCT report_id) FILTER (WHERE report_id IS NOT NULL)
      INTO files, reports FROM new_events;
    PERFORM programs_paymentevent_lock_named('programs_paymentfile', files);
    PERFORM programs_paymentevent_lock_named('programs_paymentreport', reports);
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_paymentevent_check_references ON programs_paymentevent;
CREATE TRIGGER programs_paymentevent_check_references AFTER INSERT ON programs_paymentevent
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION programs_paymentevent_check_references();

-- The other half of those foreign keys: a file or report that events name is not deleted, nor given another id.
-- After the row is gone (a concurrent insert of events has committed by then, and this query sees it).
CREATE OR REPLACE FUNCTION programs_paymentevent_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NULL;
    END IF;
    IF (TG_TABLE_NAME = 'programs_paymentfile'
            AND EXISTS (SELECT 1 FROM programs_paymentevent WHERE file_id = OLD.id))
       OR (TG_TABLE_NAME = 'programs_paymentreport'
            AND EXISTS (SELECT 1 FROM programs_paymentevent WHERE report_id = OLD.id)) THEN
        RAISE EXCEPTION '% % is named by payment events (% refused)', TG_TABLE_NAME, OLD.id, TG_OP
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

-- TRUNCATE, which no row trigger sees, only where the ledger itself may be truncated (a test session).
CREATE OR REPLACE FUNCTION programs_paymentevent_referenced_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is named by payment events (TRUNCATE refused)', TG_TABLE_NAME
        USING ERRCODE = 'foreign_key_violation';
END $$;

DROP TRIGGER IF EXISTS programs_paymentfile_referenced ON programs_paymentfile;
CREATE TRIGGER programs_paymentfile_referenced AFTER DELETE OR UPDATE OF id ON programs_paymentfile
    FOR EACH ROW EXECUTE FUNCTION programs_paymentevent_referenced();
DROP TRIGGER IF EXISTS programs_paymentreport_referenced ON programs_paymentreport;
CREATE TRIGGER programs_paymentreport_referenced AFTER DELETE OR UPDATE OF id ON programs_paymentreport
    FOR EACH ROW EXECUTE FUNCTION programs_paymentevent_referenced();
DROP TRIGGER IF EXISTS programs_paymentfile_referenced_truncate ON programs_paymentfile;
CREATE TRIGGER programs_paymentfile_referenced_truncate BEFORE TRUNCATE ON programs_paymentfile
    FOR EACH STATEMENT EXECUTE FUNCTION programs_paymentevent_referenced_truncate();
DROP TRIGGER IF EXISTS programs_paymentreport_referenced_truncate ON programs_paymentreport;
CREATE TRIGGER programs_paymentreport_referenced_truncate BEFORE TRUNCATE ON programs_paymentreport
    FOR EACH STATEMENT EXECUTE FUNCTION programs_paymentevent_referenced_truncate();
