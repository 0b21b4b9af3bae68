-- Faster registrant IDs (arithmetic Luhn, no array constructors) and a disability trigger that only fires when
-- the stored flag disagrees with the Washington Group domains (set-based writers that compute it skip the call).

CREATE OR REPLACE FUNCTION registry_luhn(n bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((10 - ((2 * (n / 1::bigint % 10) - 9 * ((n / 1::bigint % 10) / 5)) + (n / 10::bigint % 10) + (2 * (n / 100::bigint % 10) - 9 * ((n / 100::bigint % 10) / 5)) + (n / 1000::bigint % 10) + (2 * (n / 10000::bigint % 10) - 9 * ((n / 10000::bigint % 10) / 5)) + (n / 100000::bigint % 10) + (2 * (n / 1000000::bigint % 10) - 9 * ((n / 1000000::bigint % 10) / 5)) + (n / 10000000::bigint % 10) + (2 * (n / 100000000::bigint % 10) - 9 * ((n / 100000000::bigint % 10) / 5)) + (n / 1000000000::bigint % 10) + (2 * (n / 10000000000::bigint % 10) - 9 * ((n / 10000000000::bigint % 10) / 5))) % 10) % 10)::int
$$;

CREATE OR REPLACE FUNCTION registry_disability_from_wg(a smallint, b smallint, c smallint, d smallint, e smallint,
                                                       f smallint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(greatest(a, b, c, d, e, f) >= 3, false)
$$;

DROP TRIGGER IF EXISTS registry_derive_disability ON registry_individual;
CREATE TRIGGER registry_derive_disability BEFORE INSERT OR UPDATE ON registry_individual FOR EACH ROW
    WHEN (coalesce(NEW.wg_seeing, NEW.wg_hearing, NEW.wg_walking, NEW.wg_cognition, NEW.wg_self_care,
                   NEW.wg_communication) IS NOT NULL
          AND NEW.disability IS DISTINCT FROM coalesce(greatest(NEW.wg_seeing, NEW.wg_hearing, NEW.wg_walking,
                   NEW.wg_cognition, NEW.wg_self_care, NEW.wg_communication) >= 3, false))
    EXECUTE FUNCTION registry_derive_disability();
