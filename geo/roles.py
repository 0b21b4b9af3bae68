"""What each role may do with areas and their imports (collected by spmis.core.roles)."""

ROLE_GRANTS = {
    "emergency_coordinator": ["area:view", "areaimport:view"],
    "gis_analyst": ["area:*", "areaimport:*"],
    "program_officer": ["area:view"],
    "logistics_officer": ["area:view"],
    "finance_officer": ["area:view"],
    "auditor": ["area:view", "areaimport:view"],
}

# Grievance officers work by area (teams per area); partners read areas to map published indicators.
ROLE_GRANTS["grievance_officer"] = ["area:view"]
ROLE_GRANTS["partner"] = ["area:view"]
