-- Audit: statement-level triggers with transition tables record every inserted, updated and deleted row in
-- geo_auditevent, set-based, so a COPY of a million rows costs one INSERT … SELECT, not a million calls.
-- The acting user and source reach the triggers through the session settings spmis.actor / spmis.source,
-- which geo.audit sets from the request, command or task.
-- Rows are recorded with hstore(row): every value exactly as PostgreSQL prints it (geometries as hex EWKB).
-- to_jsonb(row) would be typed, but it converts geometries through GeoJSON at ~20 µs a row, which made
-- auditing a bulk load of households ten times dearer than the load itself.

-- Variables are prefixed so that they can never collide with a column of an audited table.
CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    audit_actor text := coalesce(nullif(current_setting('spmis.actor', true), ''), 'db:' || session_user);
    audit_source text := coalesce(nullif(current_setting('spmis.source', true), ''), 'sql');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT statement_timestamp(), audit_actor, audit_source, TG_TABLE_NAME, n.id, 'insert', NULL, hstore_to_jsonb(hstore(n)),
               txid_current()
        FROM audit_new n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT statement_timestamp(), audit_actor, audit_source, TG_TABLE_NAME, n.id, 'update', hstore_to_jsonb(hstore(o)), hstore_to_jsonb(hstore(n)),
               txid_current()
        FROM audit_new n JOIN audit_old o ON o.id = n.id
        WHERE hstore(o) IS DISTINCT FROM hstore(n);
    ELSE
        INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)
        SELECT statement_timestamp(), audit_actor, audit_source, TG_TABLE_NAME, o.id, 'delete', hstore_to_jsonb(hstore(o)), NULL,
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
-- Test databases are emptied with TRUNCATE between transactional tests; only a session that says so (the test
-- settings do) may truncate. In production the application's role should hold INSERT and SELECT only on this table
-- (docs/deploy.md), which no session setting can bypass.
CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (TRUNCATE refused)' USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS audit_no_truncate ON geo_auditevent;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON geo_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();
