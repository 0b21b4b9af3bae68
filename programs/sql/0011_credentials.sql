-- ID cards and credentials (programs/credentials): events are append-only, print rows are never rewritten, and a
-- status list bit, once set (revoked), is never cleared.

DROP TRIGGER IF EXISTS programs_credentialevent_append_only ON programs_credentialevent;
CREATE TRIGGER programs_credentialevent_append_only BEFORE UPDATE OR DELETE ON programs_credentialevent
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_change();
DROP TRIGGER IF EXISTS programs_credentialevent_no_truncate ON programs_credentialevent;
CREATE TRIGGER programs_credentialevent_no_truncate BEFORE TRUNCATE ON programs_credentialevent
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_truncate();

DROP TRIGGER IF EXISTS programs_cardprint_append_only ON programs_cardprint;
CREATE TRIGGER programs_cardprint_append_only BEFORE UPDATE OR DELETE ON programs_cardprint
    FOR EACH STATEMENT EXECUTE FUNCTION programs_ledger_reject_change();

-- Bit i of a W3C bitstring is the (i mod 8)-th bit from the left of byte i / 8; PostgreSQL's get_bit/set_bit count
-- from the right within a byte, hence the 7 - (i % 8).
CREATE OR REPLACE FUNCTION programs_status_bit(bits bytea, i integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT get_bit(bits, (i / 8) * 8 + 7 - (i % 8)) $$;

CREATE OR REPLACE FUNCTION programs_status_bits(bits bytea) RETURNS bit varying
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ('x' || encode(bits, 'hex'))::bit varying $$;

CREATE OR REPLACE FUNCTION programs_statuslist_no_unrevoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF length(NEW.bits) <> length(OLD.bits) THEN
        RAISE EXCEPTION 'a status list never changes size' USING ERRCODE = 'check_violation';
    END IF;
    -- Every bit set before is still set: OLD & ~NEW has no bit.
    IF bit_count(programs_status_bits(OLD.bits) & ~programs_status_bits(NEW.bits)) <> 0 THEN
        RAISE EXCEPTION 'a revoked credential cannot be reinstated (status list %)', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS programs_statuslist_no_unrevoke ON programs_statuslist;
CREATE TRIGGER programs_statuslist_no_unrevoke BEFORE UPDATE OF bits ON programs_statuslist
    FOR EACH ROW EXECUTE FUNCTION programs_statuslist_no_unrevoke();

-- A card that becomes lost, revoked or replaced has its status bit set in the same statement, whichever path
-- changed it (a service, the membership trigger below, an administrator's UPDATE): the list cannot lag the cards.
CREATE OR REPLACE FUNCTION programs_card_set_status_bits() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    list_id bigint;
    b bytea;
    i integer;
BEGIN
    FOR list_id IN
        SELECT DISTINCT n.status_list_id FROM new_cards n JOIN old_cards o ON o.id = n.id
        WHERE n.status IN ('lost', 'revoked', 'replaced') AND o.status NOT IN ('lost', 'revoked', 'replaced')
        ORDER BY 1
    LOOP
        SELECT bits INTO b FROM programs_statuslist WHERE id = list_id FOR UPDATE;
        FOR i IN
            SELECT n.status_index FROM new_cards n JOIN old_cards o ON o.id = n.id
            WHERE n.status_list_id = list_id AND n.status IN ('lost', 'revoked', 'replaced')
              AND o.status NOT IN ('lost', 'revoked', 'replaced')
        LOOP
            b := set_bit(b, (i / 8) * 8 + 7 - (i % 8), 1);
        END LOOP;
        UPDATE programs_statuslist SET bits = b, updated_at = now() WHERE id = list_id;
    END LOOP;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_card_status_bits ON programs_card;
CREATE TRIGGER programs_card_status_bits AFTER UPDATE ON programs_card
    REFERENCING OLD TABLE AS old_cards NEW TABLE AS new_cards
    FOR EACH STATEMENT EXECUTE FUNCTION programs_card_set_status_bits();

-- Leaving a program (exited, found not eligible or a duplicate) revokes the household's live cards in it. Skipped
-- at once when no card is live, so enrolment runs over a million memberships pay nothing before cards exist.
CREATE OR REPLACE FUNCTION programs_membership_revoke_cards() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM programs_card WHERE status IN ('requested', 'approved', 'printed', 'distributed')) THEN
        RETURN NULL;
    END IF;
    UPDATE programs_card c
       SET status = 'revoked', reason = 'left the program (' || n.state || ')', status_changed_at = now()
      FROM new_memberships n JOIN old_memberships o ON o.id = n.id
     WHERE n.state IN ('exited', 'not_eligible', 'duplicate') AND o.state NOT IN ('exited', 'not_eligible', 'duplicate')
       AND c.program_id = n.program_id AND c.household_id = n.household_id
       AND c.status IN ('requested', 'approved', 'printed', 'distributed');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS programs_membership_revoke_cards ON programs_programmembership;
CREATE TRIGGER programs_membership_revoke_cards AFTER UPDATE ON programs_programmembership
    REFERENCING OLD TABLE AS old_memberships NEW TABLE AS new_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION programs_membership_revoke_cards();
