-- Entitlement and program codes, drawn as before (same sequences, same format, same check digit), by a PL/pgSQL
-- function: the SQL function of 0001_codes.sql holds sub-selects, so PostgreSQL cannot inline it and runs it
-- through the SQL-function executor for every row, ~15 µs each: 15 s of a million-entitlement cycle.
-- This one costs ~5 µs (bench/programs.py).
CREATE OR REPLACE FUNCTION programs_next_code(kind text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    IF kind = 'PRG' THEN
        n := nextval('programs_program_code_seq');
        RETURN 'PRG-' || lpad(n::text, 6, '0') || '-' || registry_luhn(n)::text;
    END IF;
    n := nextval('programs_entitlement_code_seq');
    RETURN 'ENT-' || lpad(n::text, 10, '0') || '-' || registry_luhn(n)::text;
END
$$;
