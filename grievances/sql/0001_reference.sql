-- Ticket references: GRV-XXXX-XXXX in Crockford base32, seven characters from a sequence and a Luhn mod 32 check
-- character, so a reference mistyped on a phone is refused before it is looked up. The sequence value is multiplied
-- by an odd constant modulo 32^7 (a bijection), so consecutive tickets do not get consecutive references.
-- Versioned by file name: change behaviour in a new file and a new migration (grievances/references.py mirrors it).

CREATE SEQUENCE IF NOT EXISTS grievances_ticket_reference_seq;

CREATE OR REPLACE FUNCTION grievances_luhn32(body text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    factor integer := 2;
    total integer := 0;
    addend integer;
    i integer;
BEGIN
    FOR i IN REVERSE length(body)..1 LOOP
        addend := factor * (strpos(alphabet, substr(body, i, 1)) - 1);
        factor := CASE factor WHEN 2 THEN 1 ELSE 2 END;
        total := total + addend / 32 + addend % 32;
    END LOOP;
    RETURN substr(alphabet, ((32 - total % 32) % 32) + 1, 1);
END $$;

CREATE OR REPLACE FUNCTION grievances_next_reference() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    value bigint := (nextval('grievances_ticket_reference_seq') * 29943829) % 34359738368;
    body text := '';
    i integer;
BEGIN
    FOR i IN 1..7 LOOP
        body := substr(alphabet, (value % 32)::integer + 1, 1) || body;
        value := value / 32;
    END LOOP;
    RETURN 'GRV-' || substr(body, 1, 4) || '-' || substr(body, 5, 3) || grievances_luhn32(body);
END $$;
