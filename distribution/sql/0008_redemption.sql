-- Redemption: redemptions and their lines are append-only, and each line moves its entitlement's balance, whose
-- check (0 <= redeemed <= entitled) makes handing over an entitlement twice impossible: two points redeeming the same
-- entitlement at the same moment serialise on the balance row, and the second fails the check.
-- Versioned by file name: change behaviour in a new file and a new migration.

CREATE OR REPLACE FUNCTION distribution_redemption_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused); a correction is a new redemption', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION distribution_redemption_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS distribution_redemption_append_only ON distribution_redemption;
CREATE TRIGGER distribution_redemption_append_only BEFORE UPDATE OR DELETE ON distribution_redemption
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_redemption_reject_change();
DROP TRIGGER IF EXISTS distribution_redemption_no_truncate ON distribution_redemption;
CREATE TRIGGER distribution_redemption_no_truncate BEFORE TRUNCATE ON distribution_redemption
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_redemption_reject_truncate();

DROP TRIGGER IF EXISTS distribution_redemptionline_append_only ON distribution_redemptionline;
CREATE TRIGGER distribution_redemptionline_append_only BEFORE UPDATE OR DELETE ON distribution_redemptionline
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_redemption_reject_change();
DROP TRIGGER IF EXISTS distribution_redemptionline_no_truncate ON distribution_redemptionline;
CREATE TRIGGER distribution_redemptionline_no_truncate BEFORE TRUNCATE ON distribution_redemptionline
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_redemption_reject_truncate();

-- A line belongs to its redemption's entitlement and kind, and moves that entitlement's balance for its item. The
-- UPDATE takes the balance row's lock, so concurrent redemptions of one entitlement queue here and each sees the
-- other's committed amount; the balance's check refuses the one that would go beyond the entitlement.
CREATE OR REPLACE FUNCTION distribution_redemptionline_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent record;
    moved integer;
BEGIN
    SELECT entitlement_id, kind INTO parent FROM distribution_redemption WHERE id = NEW.redemption_id;
    IF parent.entitlement_id IS DISTINCT FROM NEW.entitlement_id OR parent.kind IS DISTINCT FROM NEW.kind THEN
        RAISE EXCEPTION 'a redemption line must carry its redemption''s entitlement and kind'
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE distribution_redemptionbalance
       SET redeemed = redeemed + CASE NEW.kind WHEN 'redemption' THEN NEW.base_quantity ELSE -NEW.base_quantity END,
           first_redemption_id = CASE WHEN NEW.kind = 'redemption' THEN coalesce(first_redemption_id, NEW.redemption_id)
                                      ELSE first_redemption_id END,
           last_redemption_id = NEW.redemption_id
     WHERE entitlement_id = NEW.entitlement_id AND item = NEW.item
    RETURNING entitled - redeemed INTO NEW.remaining_after;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved = 0 THEN
        RAISE EXCEPTION 'item % is not part of entitlement %', NEW.item, NEW.entitlement_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS distribution_redemptionline_apply ON distribution_redemptionline;
CREATE TRIGGER distribution_redemptionline_apply BEFORE INSERT ON distribution_redemptionline
    FOR EACH ROW EXECUTE FUNCTION distribution_redemptionline_apply();

-- A balance starts at nothing redeemed, and only the lines' trigger moves it (pg_trigger_depth() is 1 for an UPDATE
-- from anywhere else); what it grants, and of what, never changes; it is never deleted.
CREATE OR REPLACE FUNCTION distribution_redemptionbalance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.redeemed <> 0 OR NEW.first_redemption_id IS NOT NULL OR NEW.last_redemption_id IS NOT NULL THEN
            RAISE EXCEPTION 'a redemption balance starts with nothing redeemed' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' OR pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'redemption balances change only through redemption lines'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.entitlement_id, NEW.item, NEW.unit, NEW.entitled) IS DISTINCT FROM
       (OLD.entitlement_id, OLD.item, OLD.unit, OLD.entitled) THEN
        RAISE EXCEPTION 'what an entitlement grants is fixed' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS distribution_redemptionbalance_guard ON distribution_redemptionbalance;
CREATE TRIGGER distribution_redemptionbalance_guard BEFORE INSERT OR UPDATE OR DELETE ON distribution_redemptionbalance
    FOR EACH ROW EXECUTE FUNCTION distribution_redemptionbalance_guard();
DROP TRIGGER IF EXISTS distribution_redemptionbalance_no_truncate ON distribution_redemptionbalance;
CREATE TRIGGER distribution_redemptionbalance_no_truncate BEFORE TRUNCATE ON distribution_redemptionbalance
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_redemption_reject_truncate();

-- A correction reverses a redemption (never another correction) of the same entitlement at the same point.
CREATE OR REPLACE FUNCTION distribution_redemption_check_correction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reverses_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM distribution_redemption r
         WHERE r.id = NEW.reverses_id AND r.kind = 'redemption'
           AND r.entitlement_id = NEW.entitlement_id AND r.point_id = NEW.point_id
    ) THEN
        RAISE EXCEPTION 'a correction reverses a redemption of the same entitlement at the same point'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS distribution_redemption_check_correction ON distribution_redemption;
CREATE TRIGGER distribution_redemption_check_correction BEFORE INSERT ON distribution_redemption
    FOR EACH ROW WHEN (NEW.reverses_id IS NOT NULL) EXECUTE FUNCTION distribution_redemption_check_correction();

-- A cash entitlement handed over at a point as a voucher is not also paid by transfer. A payment statement takes a
-- share lock on the cash balances of its entitlements (only those a point has touched: usually none, so a batch of a
-- million payments pays one index probe per payment and no row lock), waiting for a redemption in flight, and then
-- refuses any that was redeemed; a redemption, once its lines have moved the balance, locks the entitlement row and
-- refuses a live payment it can see. What this cannot see: a payment not yet committed when a voucher is redeemed
-- for the first time (its balance row did not exist for the payment to lock) - programs pay a cycle either by
-- transfer or by voucher, not both.
CREATE OR REPLACE FUNCTION distribution_payment_not_redeemed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    redeemed record;
BEGIN
    -- Where no voucher was ever redeemed for cash, nothing to look at (the transition table is not even read).
    IF NOT EXISTS (SELECT 1 FROM distribution_redemptionbalance WHERE item = 'cash') THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM distribution_redemptionbalance b
      WHERE b.item = 'cash' AND b.entitlement_id IN (SELECT entitlement_id FROM new_payments)
      ORDER BY b.id FOR SHARE;
    SELECT b.entitlement_id INTO redeemed
      FROM distribution_redemptionbalance b
     WHERE b.item = 'cash' AND b.redeemed > 0 AND b.entitlement_id IN (SELECT entitlement_id FROM new_payments)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entitlement % was redeemed as a cash voucher at a distribution point; it cannot also be paid',
            redeemed.entitlement_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS distribution_payment_not_redeemed ON programs_payment;
CREATE TRIGGER distribution_payment_not_redeemed AFTER INSERT ON programs_payment
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION distribution_payment_not_redeemed();
