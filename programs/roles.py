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
    "paymentbatch:view",
    "paymentbatchrun:view",
    "payment:view",
    "paymentevent:view",
    "paymentfile:view",
    "paymentreport:view",
    "paymentreportissue:view",
]
PAYMENTS_READ = [permission for permission in READ if permission.startswith("payment")]

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
        # Officers prepare batches; a finance officer releases them (never the preparer: service and database).
        "paymentbatch:add",
        "paymentbatch:change",
        "paymentbatchrun:add",
    ],
    # Keeps the providers; reviews account changes; prepares and releases batches (never one they prepared),
    # sends the files and imports the providers' status reports.
    "finance_officer": [
        *PAYMENTS_READ,
        "paymentbatch:add",
        "paymentbatch:change",
        "paymentbatch:release",
        "paymentbatchrun:add",
        "paymentfile:download",
        "paymentreport:add",
        "program:view",
        "cycle:view",
        "entitlement:view",
        "financialserviceprovider:*",
        "paymentaccountchange:approve",
    ],
    "emergency_coordinator": ["program:view", "cycle:view", "simulation:view", "notice:view"],
    "auditor": READ,
}
