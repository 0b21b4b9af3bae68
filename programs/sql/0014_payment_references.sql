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

-- Households are now referenced by entitlements, memberships and payments: their triggers name the three.
SELECT programs_protect_referenced('registry_household',
                                   'programs_entitlement', 'household_id', 'programs_programmembership', 'household_id',
                                   'programs_payment', 'household_id');
SELECT programs_protect_referenced('programs_paymentbatch', 'programs_payment', 'batch_id');
SELECT programs_protect_referenced('programs_entitlement', 'programs_payment', 'entitlement_id');
SELECT programs_protect_referenced('programs_paymentaccount', 'programs_payment', 'account_id');
