-- A DCI transaction is the audit of what a sender asked: the request (sender, message_id, action, mode,
-- transaction and correlation ids, header, message, consents, callback URL, time received) is written once; only
-- the outcome and the callback's delivery change afterwards. No DELETE; TRUNCATE only in a test session that says so.
CREATE OR REPLACE FUNCTION interop_dci_request_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'interop_dcitransaction is the audit of DCI requests (DELETE refused)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.sender_id, NEW.message_id, NEW.action, NEW.mode, NEW.transaction_id, NEW.correlation_id, NEW.header,
        NEW.message, NEW.consents, NEW.callback_url, NEW.received_at)
       IS DISTINCT FROM
       (OLD.sender_id, OLD.message_id, OLD.action, OLD.mode, OLD.transaction_id, OLD.correlation_id, OLD.header,
        OLD.message, OLD.consents, OLD.callback_url, OLD.received_at) THEN
        RAISE EXCEPTION 'a DCI request is recorded once: only its outcome and delivery may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION interop_dci_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is the audit of DCI requests (TRUNCATE refused)', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS interop_dcitransaction_request_unchanged ON interop_dcitransaction;
CREATE TRIGGER interop_dcitransaction_request_unchanged BEFORE UPDATE OR DELETE ON interop_dcitransaction
    FOR EACH ROW EXECUTE FUNCTION interop_dci_request_unchanged();
DROP TRIGGER IF EXISTS interop_dcitransaction_no_truncate ON interop_dcitransaction;
CREATE TRIGGER interop_dcitransaction_no_truncate BEFORE TRUNCATE ON interop_dcitransaction
    FOR EACH STATEMENT EXECUTE FUNCTION interop_dci_reject_truncate();
