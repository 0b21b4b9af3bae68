-- registry_household_members gains the youngest and the oldest birth date of the people who count in each household
-- (NULL when none of them has a birth date), so that "a child under 5", "anyone under 18", "anyone 60 or over" — the
-- usual rule conditions — read one row per household for any date: there is a member under 5 on a day exactly when
-- the youngest was born after the day 5 years earlier. Counts by age ("two children under 5") depend on the date and
-- still read every member (the eligibility compiler's lateral).
--
-- Counts keep their deltas (0014_member_summary.sql). The birth dates: an insert can only make a household younger
-- or older (greatest/least with what is stored, in the same ON CONFLICT statement, so concurrent inserts combine);
-- anything that can remove the youngest or the oldest (a delete, a move, an end date, a status or birth-date change)
-- recomputes them for the households it touched, in a statement of its own after the rows are locked: under READ
-- COMMITTED that statement reads a fresh snapshot, so a concurrent transaction that held the lock has committed and
-- is counted.

-- The youngest and oldest of the given households recomputed from their memberships, after locking their rows.
CREATE OR REPLACE FUNCTION registry_household_members_reage(households bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF households IS NULL OR cardinality(households) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM registry_household_members s WHERE s.household_id = ANY(households)
        ORDER BY s.household_id FOR UPDATE;
    UPDATE registry_household_members s SET youngest = r.youngest, oldest = r.oldest
    FROM (
        SELECT k.id AS household_id, a.youngest, a.oldest
        FROM unnest(households) AS k(id)
        CROSS JOIN LATERAL (
            SELECT max(i.birth_date) AS youngest, min(i.birth_date) AS oldest
            FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
            WHERE m.household_id = k.id AND m.end_date IS NULL AND i.status = 'active'
        ) a
    ) r
    WHERE s.household_id = r.household_id
      AND (s.youngest IS DISTINCT FROM r.youngest OR s.oldest IS DISTINCT FROM r.oldest);
END $$;

CREATE OR REPLACE FUNCTION registry_household_members_from_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO registry_household_members AS s (household_id, members, youngest, oldest)
        SELECT n.household_id, count(*), max(i.birth_date), min(i.birth_date)
        FROM registry_members_new n JOIN registry_individual i ON i.id = n.individual_id
        WHERE n.end_date IS NULL AND i.status = 'active'
        GROUP BY n.household_id ORDER BY n.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members,
            youngest = greatest(s.youngest, excluded.youngest), oldest = least(s.oldest, excluded.oldest);
    ELSIF TG_OP = 'DELETE' THEN
        -- Households deleted earlier in the transaction have no row left (see the household trigger): none made.
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT o.household_id, -count(*)
        FROM registry_members_old o JOIN registry_individual i ON i.id = o.individual_id
        WHERE o.end_date IS NULL AND i.status = 'active'
          AND EXISTS (SELECT 1 FROM registry_household h WHERE h.id = o.household_id)
        GROUP BY o.household_id ORDER BY o.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
        PERFORM registry_household_members_reage(ARRAY(
            SELECT DISTINCT o.household_id FROM registry_members_old o WHERE o.end_date IS NULL));
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
        PERFORM registry_household_members_reage(ARRAY(
            SELECT DISTINCT c.household_id
            FROM registry_members_new n JOIN registry_members_old o ON o.id = n.id
            CROSS JOIN LATERAL (VALUES (n.household_id), (o.household_id)) AS c(household_id)
            WHERE (n.household_id, n.individual_id) IS DISTINCT FROM (o.household_id, o.individual_id)
               OR (n.end_date IS NULL) <> (o.end_date IS NULL)));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION registry_household_members_from_individual() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Memberships written before their individual in the same transaction (usually none).
        INSERT INTO registry_household_members AS s (household_id, members, youngest, oldest)
        SELECT m.household_id, count(*), max(n.birth_date), min(n.birth_date)
        FROM registry_individuals_new n JOIN registry_membership m ON m.individual_id = n.id AND m.end_date IS NULL
        WHERE n.status = 'active'
        GROUP BY m.household_id ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members,
            youngest = greatest(s.youngest, excluded.youngest), oldest = least(s.oldest, excluded.oldest);
    ELSIF TG_OP = 'DELETE' THEN
        -- Memberships still there after their individual is gone (usually none: they are deleted first).
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT m.household_id, -count(*)
        FROM registry_individuals_old o JOIN registry_membership m ON m.individual_id = o.id AND m.end_date IS NULL
        WHERE o.status = 'active'
        GROUP BY m.household_id ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
        PERFORM registry_household_members_reage(ARRAY(
            SELECT DISTINCT m.household_id
            FROM registry_individuals_old o JOIN registry_membership m ON m.individual_id = o.id
            WHERE m.end_date IS NULL));
    ELSE
        INSERT INTO registry_household_members AS s (household_id, members)
        SELECT m.household_id, sum(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END)
        FROM registry_individuals_new n
        JOIN registry_individuals_old o ON o.id = n.id AND (n.status = 'active') <> (o.status = 'active')
        JOIN registry_membership m ON m.individual_id = n.id AND m.end_date IS NULL
        GROUP BY m.household_id HAVING sum(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END) <> 0
        ORDER BY m.household_id
        ON CONFLICT (household_id) DO UPDATE SET members = s.members + excluded.members;
        PERFORM registry_household_members_reage(ARRAY(
            SELECT DISTINCT m.household_id
            FROM registry_individuals_new n
            JOIN registry_individuals_old o ON o.id = n.id
                AND ((n.status = 'active') <> (o.status = 'active') OR n.birth_date IS DISTINCT FROM o.birth_date)
            JOIN registry_membership m ON m.individual_id = n.id AND m.end_date IS NULL));
    END IF;
    RETURN NULL;
END $$;

-- The summary recounted from the memberships, in one statement; returns the households with anyone counting.
CREATE OR REPLACE FUNCTION registry_household_members_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    LOCK TABLE registry_membership, registry_individual IN SHARE MODE;
    TRUNCATE registry_household_members;
    INSERT INTO registry_household_members (household_id, members, youngest, oldest)
    SELECT m.household_id, count(*), max(i.birth_date), min(i.birth_date)
    FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
    WHERE m.end_date IS NULL AND i.status = 'active'
    GROUP BY m.household_id;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

SELECT registry_household_members_rebuild();

-- Fresh statistics for the rebuilt table: plans that join it (every rule preview) are chosen from them.
ANALYZE registry_household_members;
