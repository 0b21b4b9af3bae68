-- References of entitlements and memberships checked once per statement instead of once per row.
--
-- A foreign key checks every inserted row on its own at commit (a key-share lock and an index probe of the parent
-- for each): for a million-household cycle that is two million checks of the same cycle row and of a million
-- households, ~8 s of the entitlements' commit and ~6 s of the memberships' (bench/programs.py). The same rule,
-- "every reference names an existing row, and a referenced row is not deleted", is kept here by statement-level
-- triggers over the statement's transition tables:
--
-- * child side: after an INSERT, one anti-join of the new rows against each parent table; an UPDATE that changes a
--   reference checks the new parent (a row trigger that fires only when a statement sets the column: set-based
--   state changes never do);
-- * parent side: after a DELETE (or a change of id) of parents, one semi-join of the old rows against the child
--   table. It first takes the child table in SHARE mode, which waits for transactions still writing children: a
--   child row committed after our statement began is then visible to the check (READ COMMITTED: each statement
--   inside the function reads a fresh snapshot), and a child written after our delete waits for our commit and
--   then finds its parent gone. Parents are deleted rarely (a demo reload, a program's removal), so the lock costs
--   nothing in practice.
--
-- Unlike a deferred foreign key, the checks run at the end of each statement: children are written after their
-- parents and deleted before them, as every writer here does. Violations raise foreign_key_violation (23503),
-- which Django reports as an IntegrityError, as before.

CREATE OR REPLACE FUNCTION programs_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: pairs of (column of the new rows, parent table whose id it names).
DECLARE
    missing bigint;
BEGIN
    FOR i IN 0 .. TG_NARGS / 2 - 1 LOOP
        EXECUTE format(
            'SELECT n.%1$I FROM (SELECT DISTINCT %1$I FROM programs_new_rows) n'
            ' WHERE n.%1$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.id = n.%1$I) LIMIT 1',
            TG_ARGV[2 * i], TG_ARGV[2 * i + 1]
        ) INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert into % violates its reference to %: %=% does not exist',
                TG_TABLE_NAME, TG_ARGV[2 * i + 1], TG_ARGV[2 * i], missing
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION programs_reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
-- Row trigger on UPDATE OF the reference columns; TG_ARGV as for programs_references_exist.
DECLARE
    new_value bigint;
    found boolean;
BEGIN
    FOR i IN 0 .. TG_NARGS / 2 - 1 LOOP
        new_value := (to_jsonb(NEW) ->> TG_ARGV[2 * i])::bigint;
        IF new_value IS NOT NULL AND new_value IS DISTINCT FROM (to_jsonb(OLD) ->> TG_ARGV[2 * i])::bigint THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)', TG_ARGV[2 * i + 1])
                INTO found USING new_value;
            IF NOT found THEN
                RAISE EXCEPTION 'update of % violates its reference to %: %=% does not exist',
                    TG_TABLE_NAME, TG_ARGV[2 * i + 1], TG_ARGV[2 * i], new_value
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
        END IF;
    END LOOP;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION programs_referenced_rows_kept() RETURNS trigger LANGUAGE plpgsql AS $$
-- Statement trigger on a parent's DELETE or TRUNCATE, or row trigger on an UPDATE OF id; TG_ARGV: pairs of (child
-- table, its column naming this parent).
DECLARE
    referenced bigint;
BEGIN
    IF TG_LEVEL = 'ROW' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    FOR i IN 0 .. TG_NARGS / 2 - 1 LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[2 * i]);
        IF TG_OP = 'TRUNCATE' THEN
            -- Fires after the whole TRUNCATE command: children truncated in the same command are empty by now.
            EXECUTE format('SELECT c.%I FROM %I c LIMIT 1', TG_ARGV[2 * i + 1], TG_ARGV[2 * i]) INTO referenced;
        ELSIF TG_LEVEL = 'ROW' THEN
            EXECUTE format('SELECT $1 WHERE EXISTS (SELECT 1 FROM %I c WHERE c.%I = $1)', TG_ARGV[2 * i],
                           TG_ARGV[2 * i + 1])
                INTO referenced USING OLD.id;
        ELSE
            EXECUTE format(
                'SELECT o.id FROM programs_old_parents o WHERE EXISTS (SELECT 1 FROM %I c WHERE c.%I = o.id) LIMIT 1',
                TG_ARGV[2 * i], TG_ARGV[2 * i + 1]
            ) INTO referenced;
        END IF;
        IF referenced IS NOT NULL THEN
            RAISE EXCEPTION '% row id=% is still referenced from %.%', TG_TABLE_NAME, referenced, TG_ARGV[2 * i],
                TG_ARGV[2 * i + 1]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    IF TG_LEVEL = 'ROW' THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END $$;

-- Children: entitlements (their cycle and household) and memberships (their program and household).
DROP TRIGGER IF EXISTS programs_references_exist ON programs_entitlement;
CREATE TRIGGER programs_references_exist AFTER INSERT ON programs_entitlement
    REFERENCING NEW TABLE AS programs_new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION programs_references_exist('cycle_id', 'programs_cycle', 'household_id', 'registry_household');
DROP TRIGGER IF EXISTS programs_reference_changed ON programs_entitlement;
CREATE TRIGGER programs_reference_changed BEFORE UPDATE OF cycle_id, household_id ON programs_entitlement
    FOR EACH ROW
    EXECUTE FUNCTION programs_reference_changed('cycle_id', 'programs_cycle', 'household_id', 'registry_household');

DROP TRIGGER IF EXISTS programs_references_exist ON programs_programmembership;
CREATE TRIGGER programs_references_exist AFTER INSERT ON programs_programmembership
    REFERENCING NEW TABLE AS programs_new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION programs_references_exist('program_id', 'programs_program', 'household_id', 'registry_household');
DROP TRIGGER IF EXISTS programs_reference_changed ON programs_programmembership;
CREATE TRIGGER programs_reference_changed BEFORE UPDATE OF program_id, household_id ON programs_programmembership
    FOR EACH ROW
    EXECUTE FUNCTION programs_reference_changed('program_id', 'programs_program', 'household_id', 'registry_household');

-- Parents: the three triggers that keep a referenced parent row (statement DELETE, TRUNCATE, row UPDATE OF id), made
-- by one function so that a later migration naming more children re-creates them with the full list.
CREATE OR REPLACE FUNCTION programs_protect_referenced(parent text, VARIADIC children text[]) RETURNS void
LANGUAGE plpgsql AS $$
-- children: pairs of (child table, its column naming the parent), as programs_referenced_rows_kept takes them.
DECLARE
    arguments text;
BEGIN
    SELECT string_agg(quote_literal(child), ', ') INTO arguments FROM unnest(children) AS child;
    EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_rows_kept ON %I', parent);
    EXECUTE format('CREATE TRIGGER programs_referenced_rows_kept AFTER DELETE ON %I'
                   ' REFERENCING OLD TABLE AS programs_old_parents FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION programs_referenced_rows_kept(%s)', parent, arguments);
    EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_id_kept ON %I', parent);
    EXECUTE format('CREATE TRIGGER programs_referenced_id_kept BEFORE UPDATE OF id ON %I FOR EACH ROW'
                   ' EXECUTE FUNCTION programs_referenced_rows_kept(%s)', parent, arguments);
    -- TRUNCATE of a parent (without its children in the same command) is refused too, as a foreign key refuses it.
    EXECUTE format('DROP TRIGGER IF EXISTS programs_referenced_rows_truncated ON %I', parent);
    EXECUTE format('CREATE TRIGGER programs_referenced_rows_truncated AFTER TRUNCATE ON %I FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION programs_referenced_rows_kept(%s)', parent, arguments);
END $$;

-- Households (entitlements and memberships), cycles (entitlements), programs (memberships).
SELECT programs_protect_referenced('registry_household',
                                   'programs_entitlement', 'household_id', 'programs_programmembership', 'household_id');
SELECT programs_protect_referenced('programs_cycle', 'programs_entitlement', 'cycle_id');
SELECT programs_protect_referenced('programs_program', 'programs_programmembership', 'program_id');
