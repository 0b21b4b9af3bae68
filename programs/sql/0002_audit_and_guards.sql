-- Row-level audit of memberships and entitlements, and the guard on approved entitlements.
-- Versioned by file name: change behaviour in a new file and a new migration.

-- Memberships and entitlements arrive a million at a time; their insert is audited once, as the operation row
-- that made them (programs_enrolmentrun, programs_entitlementrun). Every later change of a row is audited here.
DO $$
DECLARE target text;
BEGIN
    FOREACH target IN ARRAY ARRAY['programs_programmembership', 'programs_entitlement', 'programs_entitlementitem']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS audit_update ON %I', target);
        EXECUTE format('DROP TRIGGER IF EXISTS audit_delete ON %I', target);
        EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %I REFERENCING OLD TABLE AS audit_old '
                       'NEW TABLE AS audit_new FOR EACH STATEMENT EXECUTE FUNCTION audit_capture()', target);
        EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS audit_old '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit_capture()', target);
    END LOOP;
END $$;

-- An approved entitlement is a promise: its beneficiary, amount and items no longer change, and it is not deleted.
-- It can only be cancelled (or, later, paid or redeemed by the payment and distribution apps).
CREATE OR REPLACE FUNCTION programs_entitlement_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'entitlement % is %: only draft entitlements can be deleted', OLD.code, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (NEW.amount IS DISTINCT FROM OLD.amount OR NEW.fee IS DISTINCT FROM OLD.fee
            OR NEW.household_id <> OLD.household_id OR NEW.cycle_id <> OLD.cycle_id OR NEW.kind <> OLD.kind) THEN
        RAISE EXCEPTION 'entitlement % is %: its beneficiary and amount are fixed', OLD.code, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status = 'cancelled' AND NEW.status <> 'cancelled' THEN
        RAISE EXCEPTION 'entitlement % is cancelled and cannot be reinstated', OLD.code
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS programs_entitlement_guard ON programs_entitlement;
CREATE TRIGGER programs_entitlement_guard BEFORE UPDATE OR DELETE ON programs_entitlement
    FOR EACH ROW EXECUTE FUNCTION programs_entitlement_guard();
