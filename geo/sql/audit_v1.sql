-- Audit: statement-level triggers with transition tables record every inserted, updated and deleted row in
-- geo_auditevent, set-based, so a COPY of a million rows costs one INSERT … SELECT, not a million calls.
-- The acting user and source reach the triggers through the session settings spmis.actor / spmis.source,
-- which geo.audit sets from the request, command or task.

CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acting text := coalesce(nullif(current_setting('spmis.actor', true), ''), 'db:' || session_user);
    origin text := coalesce(nullif(current_setting('spmis.source', true), ''), 'sql');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT clock_timestamp(), acting, origin, TG_TABLE_NAME, n.id::text, 'insert', NULL, to_jsonb(n),
               txid_current()
        FROM audit_new n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT clock_timestamp(), acting, origin, TG_TABLE_NAME, n.id::text, 'update', to_jsonb(o), to_jsonb(n),
               txid_current()
        FROM audit_new n JOIN audit_old o ON o.id = n.id
        WHERE to_jsonb(o) IS DISTINCT FROM to_jsonb(n);
    ELSE
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT clock_timestamp(), acting, origin, TG_TABLE_NAME, o.id::text, 'delete', to_jsonb(o), NULL,
               txid_current()
        FROM audit_old o;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_enable(target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS audit_insert ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_update ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_delete ON %s', target);
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS audit_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_capture()', target);
    EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS audit_old '
                   'NEW TABLE AS audit_new FOR EACH STATEMENT EXECUTE FUNCTION audit_capture()', target);
    EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS audit_old '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_capture()', target);
END $$;

CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS audit_append_only ON geo_auditevent;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON geo_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
DROP TRIGGER IF EXISTS audit_no_truncate ON geo_auditevent;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON geo_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
