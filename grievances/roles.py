"""What each role may do with grievances. Complainant contact also needs the registry's personal-data permission,
granted to grievance officers in registry/roles.py."""

ROLE_GRANTS: dict[str, list[str]] = {
    "grievance_officer": [
        "category:view",
        "team:view",
        "ticket:view",
        "ticket:add",
        "ticket:change",
        "ticketevent:view",
        "message:view",
        "message:change",
        "statistics:view",
    ],
    "auditor": ["category:view", "team:view", "ticket:view", "ticketevent:view", "message:view"],
    # Partners read the published, small-cell-suppressed statistics only (no ticket rows).
    "partner": ["category:view", "statistics:view"],
}
