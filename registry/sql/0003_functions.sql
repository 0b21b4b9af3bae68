-- Registrant IDs, name folding for search, and phone/date helpers used by set-based import.
-- Versioned by file name: change behaviour in a new file and a new migration.

CREATE SEQUENCE IF NOT EXISTS registry_household_rid_seq;
CREATE SEQUENCE IF NOT EXISTS registry_individual_rid_seq;

-- Luhn check digit of a payload of up to 11 digits, as one arithmetic expression so the planner inlines it
-- (a loop or generate_series would cost microseconds per row in a million-row import).
CREATE OR REPLACE FUNCTION registry_luhn(n bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (10 - ((ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 1::bigint % 10)::int + 1] + (n / 10::bigint % 10)::int + (ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 100::bigint % 10)::int + 1] + (n / 1000::bigint % 10)::int + (ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 10000::bigint % 10)::int + 1] + (n / 100000::bigint % 10)::int + (ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 1000000::bigint % 10)::int + 1] + (n / 10000000::bigint % 10)::int + (ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 100000000::bigint % 10)::int + 1] + (n / 1000000000::bigint % 10)::int + (ARRAY[0,2,4,6,8,1,3,5,7,9])[(n / 10000000000::bigint % 10)::int + 1]) % 10) % 10
$$;

-- A human-friendly registrant ID: prefix letter, 9-digit serial, Luhn check digit (e.g. H0000000018).
CREATE OR REPLACE FUNCTION registry_format_registrant_id(prefix text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT prefix || lpad(n::text, 9, '0') || registry_luhn(n)::text
$$;

CREATE OR REPLACE FUNCTION registry_next_registrant_id(prefix text) RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT registry_format_registrant_id(prefix, nextval(
        CASE prefix WHEN 'H' THEN 'registry_household_rid_seq'::regclass
                    ELSE 'registry_individual_rid_seq'::regclass END))
$$;

-- Accent- and case-insensitive form of a name; IMMUTABLE so that it can back a trigram index.
CREATE OR REPLACE FUNCTION registry_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT lower(public.unaccent('public.unaccent'::regdictionary, value))
$$;

-- A date from ISO text (YYYY-MM-DD), or NULL when it is not a real calendar date. Pure expressions rather than
-- an EXCEPTION block, which would open a subtransaction per row.
CREATE OR REPLACE FUNCTION registry_iso_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value ~ '^\d{4}-\d{2}-\d{2}$'
             AND substr(value, 6, 2)::int BETWEEN 1 AND 12
             AND substr(value, 9, 2)::int BETWEEN 1 AND extract(day FROM
                 make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1) + interval '1 month - 1 day')
             AND substr(value, 1, 4)::int > 0
        THEN value::date
    END
$$;
