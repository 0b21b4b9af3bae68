-- registry_household_members: how many people count in each household, kept by the triggers below so that rules,
-- previews and entitlements read one row per household instead of probing its memberships and their individuals.
--
-- A person counts in a household when their membership there is open (end_date IS NULL) and they are active
-- (status = 'active'): the condition of the eligibility compiler's member aggregate. A household without a row
-- has nobody counting.
--
-- Statement-level triggers with transition tables: a COPY of a million memberships costs one grouped INSERT …
-- ON CONFLICT, not a million calls. Each statement adds its change per household (members = members + delta),
-- in household order, so two transactions changing one household add up (the row lock orders them) rather than
-- the later overwriting the earlier with a count from its own snapshot.
--
-- Each trigger reads the other table as it stands: a membership counts when its individual is active now; an
-- individual's change of status moves the households where their memberships are open now. Individuals are
-- counted when their row and their membership both exist, whichever comes first (foreign keys are deferred).
-- What deltas cannot follow is a single statement changing both tables (a writable CTE), or a status change and
-- a move of the same person in two concurrent transactions: registry_household_members_rebuild() recounts.

CREATE OR REPLACE FUNCTION registry_household_members_from_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT n.household_id, count(*)
        FROM registry_members_new n JOIN registry_individual i ON i.id = n.individual_id
        WHERE n.end_date IS NULL AND i.status = 'active'
        GROUP BY n.household_id ORDER BY n.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    ELSIF TG_OP = 'DELETE' THEN
        -- Households deleted earlier in the transaction have no row left (see the household trigger): none made.
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT o.household_id, -count(*)
        FROM registry_members_old o JOIN registry_individual i ON i.id = o.individual_id
        WHERE o.end_date IS NULL AND i.status = 'active'
          AND EXISTS (SELECT 1 FROM registry_household h WHERE h.id = o.household_id)
        GROUP BY o.household_id ORDER BY o.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    ELSE
        -- Only rows whose household, person or openness changed (a new role changes nothing).
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT d.household_id, sum(d.delta)
        FROM (
            SELECT c.household_id, c.delta, c.individual_id
            FROM registry_members_new n JOIN registry_members_old o ON o.id = n.id
            CROSS JOIN LATERAL (VALUES (n.household_id, 1, n.individual_id, n.end_date),
                                       (o.household_id, -1, o.individual_id, o.end_date))
                AS c(household_id, delta, individual_id, end_date)
            WHERE ((n.household_id, n.individual_id) IS DISTINCT FROM (o.household_id, o.individual_id)
                   OR (n.end_date IS NULL) <> (o.end_date IS NULL))
              AND c.end_date IS NULL
        ) d
        JOIN registry_individual i ON i.id = d.individual_id
        WHERE i.status = 'active' AND EXISTS (SELECT 1 FROM registry_household h WHERE h.id = d.household_id)
        GROUP BY d.household_id HAVING sum(d.delta) <> 0 ORDER BY d.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION registry_household_members_from_individual() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Memberships written before their individual in the same transaction (usually none).
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT m.household_id, count(*)
        FROM registry_individuals_new n JOIN registry_membership m ON m.individual_id = n.id AND m.end_date IS NULL
        WHERE n.status = 'active'
        GROUP BY m.household_id ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    ELSIF TG_OP = 'DELETE' THEN
        -- Memberships still there after their individual is gone (usually none: they are deleted first).
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT m.household_id, -count(*)
        FROM registry_individuals_old o JOIN registry_membership m ON m.individual_id = o.id AND m.end_date IS NULL
        WHERE o.status = 'active'
        GROUP BY m.household_id ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    ELSE
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT m.household_id, sum(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END)
        FROM registry_individuals_new n
        JOIN registry_individuals_old o ON o.id = n.id AND (n.status = 'active') <> (o.status = 'active')
        JOIN registry_membership m ON m.individual_id = n.id AND m.end_date IS NULL
        GROUP BY m.household_id HAVING sum(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END) <> 0
        ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION registry_household_members_from_household() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM registry_household_members s USING registry_households_old o WHERE s.household_id = o.id;
    RETURN NULL;
END $$;

-- TRUNCATE fires no row or delete triggers: emptied memberships leave nobody counting. (A flush that truncates
-- this table too finds it empty.)
CREATE OR REPLACE FUNCTION registry_household_members_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM registry_household_members;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS registry_household_members_insert ON registry_membership;
CREATE TRIGGER registry_household_members_insert AFTER INSERT ON registry_membership
    REFERENCING NEW TABLE AS registry_members_new
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_membership();
DROP TRIGGER IF EXISTS registry_household_members_update ON registry_membership;
CREATE TRIGGER registry_household_members_update AFTER UPDATE ON registry_membership
    REFERENCING OLD TABLE AS registry_members_old NEW TABLE AS registry_members_new
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_membership();
DROP TRIGGER IF EXISTS registry_household_members_delete ON registry_membership;
CREATE TRIGGER registry_household_members_delete AFTER DELETE ON registry_membership
    REFERENCING OLD TABLE AS registry_members_old
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_membership();
DROP TRIGGER IF EXISTS registry_household_members_truncate ON registry_membership;
CREATE TRIGGER registry_household_members_truncate AFTER TRUNCATE ON registry_membership
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_truncated();

DROP TRIGGER IF EXISTS registry_household_members_insert ON registry_individual;
CREATE TRIGGER registry_household_members_insert AFTER INSERT ON registry_individual
    REFERENCING NEW TABLE AS registry_individuals_new
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_individual();
DROP TRIGGER IF EXISTS registry_household_members_update ON registry_individual;
CREATE TRIGGER registry_household_members_update AFTER UPDATE ON registry_individual
    REFERENCING OLD TABLE AS registry_individuals_old NEW TABLE AS registry_individuals_new
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_individual();
DROP TRIGGER IF EXISTS registry_household_members_delete ON registry_individual;
CREATE TRIGGER registry_household_members_delete AFTER DELETE ON registry_individual
    REFERENCING OLD TABLE AS registry_individuals_old
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_individual();

DROP TRIGGER IF EXISTS registry_household_members_delete ON registry_household;
CREATE TRIGGER registry_household_members_delete AFTER DELETE ON registry_household
    REFERENCING OLD TABLE AS registry_households_old
    FOR EACH STATEMENT EXECUTE FUNCTION registry_household_members_from_household();

-- The summary recounted from the memberships, in one statement; returns the households with anyone counting.
-- Writers to memberships and individuals wait meanwhile (SHARE locks), so no change falls between the recount and
-- the triggers; readers of the summary wait for the few seconds of a national registry.
CREATE OR REPLACE FUNCTION registry_household_members_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    LOCK TABLE registry_membership, registry_individual IN SHARE MODE;
    TRUNCATE registry_household_members;
    INSERT INTO registry_household_members (household_id, members)
    SELECT m.household_id, count(*)
    FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
    WHERE m.end_date IS NULL AND i.status = 'active'
    GROUP BY m.household_id;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

SELECT registry_household_members_rebuild();
