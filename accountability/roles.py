"""Who may read the accountability pages (collected by spmis.core.roles). The audit log itself is the kernel's
(core.view_auditevent, granted to auditors there); administrators hold every permission."""

DASHBOARD = ["dashboard:view", "indicator:view"]

ROLE_GRANTS = {
    "emergency_coordinator": DASHBOARD,
    "program_officer": DASHBOARD,
    "finance_officer": DASHBOARD,
    "logistics_officer": DASHBOARD,
    "auditor": DASHBOARD,
    # Partners read only what is published: counts by area with small cells suppressed.
    "partner": ["indicator:view"],
}
