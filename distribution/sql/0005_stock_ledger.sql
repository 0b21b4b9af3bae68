-- The stock ledger: movement lines are append-only, their insert moves the balances in the same statement, and
-- balances can never go below zero (a CHECK on distribution_stockbalance). Versioned by file name: a change of
-- behaviour is a new file and a new migration.

-- Documents, their paper lines and the movement lines refuse UPDATE and DELETE; TRUNCATE only in a test session that
-- says so (spmis.audit_truncate), like the audit log and the payment ledger.
CREATE OR REPLACE FUNCTION distribution_stock_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused); a correction is a reversing entry', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION distribution_stock_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('spmis.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS distribution_stockmovement_append_only ON distribution_stockmovement;
CREATE TRIGGER distribution_stockmovement_append_only BEFORE UPDATE OR DELETE ON distribution_stockmovement
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_change();
DROP TRIGGER IF EXISTS distribution_stockmovement_no_truncate ON distribution_stockmovement;
CREATE TRIGGER distribution_stockmovement_no_truncate BEFORE TRUNCATE ON distribution_stockmovement
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_truncate();
DROP TRIGGER IF EXISTS distribution_stockdocument_append_only ON distribution_stockdocument;
CREATE TRIGGER distribution_stockdocument_append_only BEFORE UPDATE OR DELETE ON distribution_stockdocument
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_change();
DROP TRIGGER IF EXISTS distribution_stockdocument_no_truncate ON distribution_stockdocument;
CREATE TRIGGER distribution_stockdocument_no_truncate BEFORE TRUNCATE ON distribution_stockdocument
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_truncate();
DROP TRIGGER IF EXISTS distribution_stockdocumentline_append_only ON distribution_stockdocumentline;
CREATE TRIGGER distribution_stockdocumentline_append_only BEFORE UPDATE OR DELETE ON distribution_stockdocumentline
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_change();
DROP TRIGGER IF EXISTS distribution_stockdocumentline_no_truncate ON distribution_stockdocumentline;
CREATE TRIGGER distribution_stockdocumentline_no_truncate BEFORE TRUNCATE ON distribution_stockdocumentline
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stock_reject_truncate();

-- Balances change only through the ledger's trigger (depth 2 there) or the rebuild (which says so for its
-- transaction); any other write is refused, so the cache cannot drift from the lines by hand.
CREATE OR REPLACE FUNCTION distribution_stockbalance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 AND coalesce(current_setting('spmis.stock_rebuild', true), '') <> 'on' THEN
        RAISE EXCEPTION 'stock balances change only through the stock ledger (distribution_stockmovement)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS distribution_stockbalance_guard ON distribution_stockbalance;
CREATE TRIGGER distribution_stockbalance_guard BEFORE INSERT OR UPDATE OR DELETE ON distribution_stockbalance
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_stockbalance_guard();

-- One statement of movement lines: check its reversals, add its quantities to the balances, then refuse a warehouse
-- filled above its capacity. Per location, item and lot the statement's lines are summed; a sum that takes stock out
-- updates the existing balance (the CHECK refuses it going below zero; with no balance row there is nothing to take),
-- a sum that puts stock in is an upsert. (An upsert cannot take stock out: PostgreSQL checks the CHECK on the row it
-- proposes to insert before it finds the conflict.) The index on the key with coalesce() lets the UPDATE find rows
-- whose warehouse, point or lot is NULL.
CREATE INDEX IF NOT EXISTS distribution_stockbalance_key ON distribution_stockbalance
    (item_id, coalesce(warehouse_id, 0), coalesce(point_id, 0), coalesce(lot_id, 0));
-- Balances are rewritten in place all day: room in each page lets those be HOT updates (no index writes).
ALTER TABLE distribution_stockbalance SET (fillfactor = 50);

CREATE OR REPLACE FUNCTION distribution_stockmovement_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    wanted bigint;
    done bigint;
BEGIN
    -- Reversals are rare: look them up only when the statement has some (a join of every statement with the whole
    -- ledger would grow with it).
    IF EXISTS (SELECT 1 FROM new_moves WHERE reverses_id IS NOT NULL) THEN
        SELECT n.id, n.reverses_id INTO bad
          FROM (SELECT * FROM new_moves WHERE reverses_id IS NOT NULL) n
          JOIN LATERAL (SELECT * FROM distribution_stockmovement o WHERE o.id = n.reverses_id) o ON true
         WHERE o.kind = 'reversal'
            OR n.quantity <> -o.quantity
            OR (n.warehouse_id, n.point_id, n.item_id, n.lot_id) IS DISTINCT FROM
               (o.warehouse_id, o.point_id, o.item_id, o.lot_id)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'movement % does not exactly reverse movement % (a reversal has the opposite quantity at the same place, item and lot, and a reversal is never reversed)', bad.id, bad.reverses_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'distribution_stockmovement_exact_reversal';
        END IF;
    END IF;

    WITH taken AS (
        SELECT item_id, coalesce(warehouse_id, 0) AS w, coalesce(point_id, 0) AS p, coalesce(lot_id, 0) AS l,
               sum(quantity) AS quantity
          FROM new_moves
         GROUP BY 1, 2, 3, 4
        HAVING sum(quantity) < 0
    ), changed AS (
        UPDATE distribution_stockbalance b
           SET on_hand = b.on_hand + t.quantity, updated_at = now()
          FROM taken t
         WHERE b.item_id = t.item_id AND coalesce(b.warehouse_id, 0) = t.w AND coalesce(b.point_id, 0) = t.p
           AND coalesce(b.lot_id, 0) = t.l
        RETURNING b.id
    )
    SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM changed) INTO wanted, done;
    IF done < wanted THEN
        RAISE EXCEPTION 'not enough stock: a movement takes out goods that are not on hand there'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'distribution_stockbalance_non_negative';
    END IF;

    INSERT INTO distribution_stockbalance AS b (warehouse_id, point_id, item_id, lot_id, on_hand, updated_at)
    SELECT warehouse_id, point_id, item_id, lot_id, sum(quantity), now()
      FROM new_moves
     GROUP BY warehouse_id, point_id, item_id, lot_id
    HAVING sum(quantity) >= 0
     ORDER BY warehouse_id, point_id, item_id, lot_id
    ON CONFLICT (warehouse_id, point_id, item_id, lot_id)
    DO UPDATE SET on_hand = b.on_hand + EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at;

    SELECT w.code, w.capacity_tonnes, t.kg INTO bad
      FROM (SELECT DISTINCT warehouse_id FROM new_moves WHERE warehouse_id IS NOT NULL AND quantity > 0) n
      JOIN distribution_warehouse w ON w.id = n.warehouse_id AND w.capacity_tonnes IS NOT NULL
     CROSS JOIN LATERAL (
           SELECT coalesce(sum(b.on_hand * i.weight_kg), 0) AS kg
             FROM distribution_stockbalance b JOIN distribution_stockitem i ON i.id = b.item_id
            WHERE b.warehouse_id = n.warehouse_id
       ) t
     WHERE t.kg > w.capacity_tonnes * 1000
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'warehouse % would hold % t, above its capacity of % t', bad.code, round(bad.kg / 1000, 3),
            bad.capacity_tonnes
            USING ERRCODE = 'check_violation', CONSTRAINT = 'distribution_stock_capacity';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS distribution_stockmovement_apply ON distribution_stockmovement;
CREATE TRIGGER distribution_stockmovement_apply AFTER INSERT ON distribution_stockmovement
    REFERENCING NEW TABLE AS new_moves FOR EACH STATEMENT EXECUTE FUNCTION distribution_stockmovement_apply();

-- Rebuild every balance from the ledger (after a load that bypassed triggers, or to prove the cache right). Holds
-- writers to the ledger while it runs; returns the number of balances written.
CREATE OR REPLACE FUNCTION distribution_stock_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    LOCK TABLE distribution_stockmovement IN SHARE MODE;
    PERFORM set_config('spmis.stock_rebuild', 'on', true);
    DELETE FROM distribution_stockbalance;
    INSERT INTO distribution_stockbalance (warehouse_id, point_id, item_id, lot_id, on_hand, updated_at)
    SELECT warehouse_id, point_id, item_id, lot_id, sum(quantity), now()
      FROM distribution_stockmovement
     GROUP BY warehouse_id, point_id, item_id, lot_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('spmis.stock_rebuild', '', true);
    RETURN n;
END $$;
