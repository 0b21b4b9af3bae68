-- Ticket history is append-only: events refuse UPDATE, DELETE and TRUNCATE (tests that empty tables set
-- spmis.audit_truncate), as the payment and stock ledgers do. The ticket row is the cache of its events, audited.
-- Versioned by file name: change behaviour in a new file and a new migration.

CREATE OR REPLACE FUNCTION grievances_ticketevent_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused); a correction is a new event', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION grievances_ticketevent_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS grievances_ticketevent_append_only ON grievances_ticketevent;
CREATE TRIGGER grievances_ticketevent_append_only BEFORE UPDATE OR DELETE ON grievances_ticketevent
    FOR EACH STATEMENT EXECUTE FUNCTION grievances_ticketevent_reject_change();
DROP TRIGGER IF EXISTS grievances_ticketevent_no_truncate ON grievances_ticketevent;
CREATE TRIGGER grievances_ticketevent_no_truncate BEFORE TRUNCATE ON grievances_ticketevent
    FOR EACH STATEMENT EXECUTE FUNCTION grievances_ticketevent_reject_truncate();

-- An appeal is decided by someone other than the first decider (the check constraint
-- grievances_ticket_appeal_other_decider says so for the row); a decision once made is never rewritten: the first
-- decision's decider, outcome and time stay as they were when the appeal is decided.
CREATE OR REPLACE FUNCTION grievances_ticket_decision_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.decided_by_id IS NOT NULL AND (NEW.decided_by_id, NEW.outcome, NEW.decided_at)
            IS DISTINCT FROM (OLD.decided_by_id, OLD.outcome, OLD.decided_at) THEN
        RAISE EXCEPTION 'ticket %: the first decision is final; an appeal is decided separately', OLD.reference
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.appeal_decided_by_id IS NOT NULL AND (NEW.appeal_decided_by_id, NEW.appeal_outcome)
            IS DISTINCT FROM (OLD.appeal_decided_by_id, OLD.appeal_outcome) THEN
        RAISE EXCEPTION 'ticket %: the appeal was decided already', OLD.reference USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.appeal_decided_by_id IS NOT NULL AND NEW.appeal_decided_by_id = NEW.decided_by_id THEN
        RAISE EXCEPTION 'ticket %: an appeal is decided by someone other than the first decider', NEW.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS grievances_ticket_decision_guard ON grievances_ticket;
CREATE TRIGGER grievances_ticket_decision_guard BEFORE UPDATE ON grievances_ticket
    FOR EACH ROW EXECUTE FUNCTION grievances_ticket_decision_guard();
