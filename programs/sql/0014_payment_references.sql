-- A payment's references (its batch, entitlement, household, account and the payment it re-issues) checked once per
-- statement instead of by five foreign keys per row: a million-payment batch checked five million rows one by one
-- at commit, two thirds of its preparation (bench/payments.py). Same rule and same functions as
-- 0013_entitlements_faster.sql: the new rows are anti-joined to each parent after the INSERT; a referenced batch,
-- entitlement, household or account is not deleted, truncated or renumbered (the parent's statement takes
-- programs_payment in SHARE mode first, so it waits for a batch still being written and then sees it). A payment's
-- references never change afterwards: programs_payment_check_update refuses it.

DROP TRIGGER IF EXISTS programs_references_exist ON programs_payment;
CREATE TRIGGER programs_references_exist AFTER INSERT ON programs_payment
    REFERENCING NEW TABLE AS programs_new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION programs_references_exist(
        'batch_id', 'programs_paymentbatch', 'entitlement_id', 'programs_entitlement',
        'household_id', 'registry_household', 'account_id', 'programs_paymentaccount',
        'reissue_of_id', 'programs_payment');

-- Households are now referenced by entitlements, memberships and payments: one trigger names the three.
DROP TRIGGER IF EXISTS programs_referenced_rows_kept ON registry_household;
CREATE TRIGGER programs_referenced_rows_kept AFTER DELETE ON registry_household
    REFERENCING OLD TABLE AS programs_old_parents FOR EACH STATEMENT
    EXECUTE FUNCTION programs_referenced_rows_kept(
        'programs_entitlement', 'household_id', 'programs_programmembership', 'household_id',
        'programs_payment', 'household_id');
DROP TRIGGER IF EXISTS programs_referenced_id_kept ON registry_household;
CREATE TRIGGER programs_referenced_id_kept BEFORE UPDATE OF id ON registry_household FOR EACH ROW
    EXECUTE FUNCTION programs_referenced_rows_kept(
        'programs_entitlement', 'household_id', 'programs_programmembership', 'household_id',
        'programs_payment', 'household_id');
DROP TRIGGER IF EXISTS programs_referenced_rows_truncated ON registry_household;
CREATE TRIGGER programs_referenced_rows_truncated AFTER TRUNCATE ON registry_household FOR EACH STATEMENT
    EXECUTE FUNCTION programs_referenced_rows_kept(
        'programs_entitlement', 'household_id', 'programs_programmembership', 'household_id',
        'programs_payment', 'household_id');

DO $$
DECLARE
    parent text;
    child_column text;
BEGIN
    FOR parent, child_column IN VALUES ('programs_paymentbatch', 'batch_id'), ('programs_entitlement', 'entitlement_id'),
                                        ('programs_paymentaccount', 'account_id')
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_rows_kept ON %I', parent);
        EXECUTE format('CREATE TRIGGER programs_referenced_rows_kept AFTER DELETE ON %I'
                       ' REFERENCING OLD TABLE AS programs_old_parents FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION programs_referenced_rows_kept(%L, %L)', parent, 'programs_payment',
                       child_column);
        EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_id_kept ON %I', parent);
        EXECUTE format('CREATE TRIGGER programs_referenced_id_kept BEFORE UPDATE OF id ON %I FOR EACH ROW'
                       ' EXECUTE FUNCTION programs_referenced_rows_kept(%L, %L)', parent, 'programs_payment',
                       child_column);
        EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_rows_truncated ON %I', parent);
        EXECUTE format('CREATE TRIGGER programs_referenced_rows_truncated AFTER TRUNCATE ON %I FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION programs_referenced_rows_kept(%L, %L)', parent, 'programs_payment',
                       child_column);
    END LOOP;
END $$;
