READ = ["household:view", "individual:view", "membership:view", "phone:view", "iddocument:view", "idtype:view"]
READ_CONFIG = ["customfield:view", "customfilter:view", "importmapping:view"]
# The codename is view_personal_data (registry.view_personal_data), declared on Household's Meta.permissions.
PERSONAL_DATA = "personal_data:view"

ROLE_GRANTS = {
    "emergency_coordinator": [
        *READ,
        *READ_CONFIG,
        PERSONAL_DATA,
        "changerequest:view",
        "changerequest:add",
        "changerequest:change",
    ],
    "gis_analyst": ["household:view"],
    "program_officer": [
        *READ,
        *READ_CONFIG,
        PERSONAL_DATA,
        "household:add",
        "individual:add",
        "customfilter:*",
        "changerequest:view",
        "changerequest:add",
        "changerequest:change",
        "registryimport:view",
        "registryimport:add",
        "importmapping:*",
        "duplicatecandidate:view",
        "duplicatecandidate:change",
        "duplicatecandidate:add",
        "deduprun:view",
        "deduprun:add",
    ],
    "logistics_officer": ["household:view"],
    # Reviews payment account changes: sees the households, not their personal data (no account digits either).
    "finance_officer": ["household:view"],
    "auditor": [
        *READ,
        *READ_CONFIG,
        "changerequest:view",
        "registryimport:view",
        "duplicatecandidate:view",
        "deduprun:view",
    ],
}
# Grievance officers link tickets to households, read complainants' contact and open change requests from a ticket.
ROLE_GRANTS["grievance_officer"] = ["household:view", PERSONAL_DATA, "changerequest:view", "changerequest:add"]
