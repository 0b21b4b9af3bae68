"""What each role may do with programs (collected by spmis.core.roles). Placeholder from the pages branch until the
programs API lands with its own grants: the lead's version wins on merge."""

OFFICER = [
    "program:*",
    "programmembership:*",
    "enrolmentrun:*",
    "cycle:*",
    "cycle:approve",
    "entitlementrun:*",
    "entitlement:view",
    "entitlementitem:view",
    "simulation:*",
    "scenario:*",
    "trigger:*",
    "notice:view",
]
READ = [
    "program:view",
    "programmembership:view",
    "enrolmentrun:view",
    "cycle:view",
    "entitlementrun:view",
    "entitlement:view",
    "entitlementitem:view",
    "simulation:view",
    "scenario:view",
]

ROLE_GRANTS = {
    "program_officer": OFFICER,
    "emergency_coordinator": READ,
    "auditor": READ,
}
