-- Redundant membership indexes: the unique partial index (household_id, individual_id) WHERE end_date IS NULL
-- already serves open-membership lookups by household, and the foreign-key index on individual_id those by person.
-- Each index costs every membership insert of a million-row import.
DROP INDEX IF EXISTS registry_membership_open;
DROP INDEX IF EXISTS registry_membership_open_individual;
