-- Program and entitlement codes.
-- Versioned by file name: change behaviour in a new file and a new migration.

CREATE SEQUENCE IF NOT EXISTS programs_program_code_seq;
CREATE SEQUENCE IF NOT EXISTS programs_entitlement_code_seq;

-- PRG-000001-8, ENT-0000000001-8: prefix, serial, Luhn check digit (registry_luhn), drawn by the database so that
-- set-based inserts of a million entitlements get them too.
CREATE OR REPLACE FUNCTION programs_next_code(kind text) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT CASE kind
        WHEN 'PRG' THEN (SELECT 'PRG-' || lpad(n::text, 6, '0') || '-' || registry_luhn(n)::text
                         FROM nextval('programs_program_code_seq') AS n)
        ELSE (SELECT 'ENT-' || lpad(n::text, 10, '0') || '-' || registry_luhn(n)::text
              FROM nextval('programs_entitlement_code_seq') AS n)
    END
$$;
