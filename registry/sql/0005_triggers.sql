-- Individuals: `disability` follows the Washington Group domains whenever any is known ("a lot of difficulty"
-- or "cannot do at all" in any domain). Rows loaded without domains keep the disability flag they were given.
CREATE OR REPLACE FUNCTION registry_derive_disability() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.disability := coalesce(greatest(NEW.wg_seeing, NEW.wg_hearing, NEW.wg_walking, NEW.wg_cognition,
                                        NEW.wg_self_care, NEW.wg_communication) >= 3, false);
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS registry_derive_disability ON registry_individual;
CREATE TRIGGER registry_derive_disability BEFORE INSERT OR UPDATE ON registry_individual FOR EACH ROW
    WHEN (coalesce(NEW.wg_seeing, NEW.wg_hearing, NEW.wg_walking, NEW.wg_cognition, NEW.wg_self_care,
                   NEW.wg_communication) IS NOT NULL)
    EXECUTE FUNCTION registry_derive_disability();

-- Accent-insensitive trigram search on full names.
CREATE INDEX IF NOT EXISTS registry_individual_name_trgm ON registry_individual
    USING gin (registry_fold(given_name || ' ' || family_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS registry_individual_birth_date ON registry_individual (birth_date);
CREATE INDEX IF NOT EXISTS registry_membership_open ON registry_membership (household_id) WHERE end_date IS NULL;
CREATE INDEX IF NOT EXISTS registry_membership_open_individual ON registry_membership (individual_id)
    WHERE end_date IS NULL;
