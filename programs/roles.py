"""What each role may do with programs (collected by spmis.core.roles)."""

READ = [
    "program:view",
    "programmembership:view",
    "cycle:view",
    "entitlement:view",
    "entitlementitem:view",
    "enrolmentrun:view",
    "entitlementrun:view",
    "simulation:view",
    "scenario:view",
    "trigger:view",
    "triggerfiring:view",
    "financialserviceprovider:view",
    "paymentaccount:view",
    "paymentaccountchange:view",
]

ROLE_GRANTS = {
    "program_officer": [
        *READ,
        "program:add",
        "program:change",
        "programmembership:add",
        "programmembership:change",
        "cycle:add",
        "cycle:change",
        # Four eyes: every officer may approve, never a cycle they submitted (service and database refuse it).
        "cycle:approve",
        "enrolmentrun:add",
        "entitlementrun:add",
        "simulation:add",
        "scenario:add",
        "trigger:add",
        "trigger:change",
        "notice:view",
        "notice:change",
        # Accounts are set through change requests; a second officer approves (service and database refuse the
        # requester).
        "paymentaccount:add",
        "paymentaccountchange:add",
        "paymentaccountchange:approve",
    ],
    # Keeps the providers; reviews account changes. Releasing payment batches comes with batches (issue 12).
    "finance_officer": [
        "program:view",
        "cycle:view",
        "entitlement:view",
        "financialserviceprovider:*",
        "paymentaccount:view",
        "paymentaccountchange:view",
        "paymentaccountchange:approve",
    ],
    "emergency_coordinator": ["program:view", "cycle:view", "simulation:view", "notice:view"],
    "auditor": READ,
}
