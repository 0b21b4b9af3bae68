ROLE_GRANTS = {
    "emergency_coordinator": [
        "incident:*",
        "hazardclass:*",
        "hazardzone:*",
        "exposurerun:*",
        "exposureresult:view",
        "needsprofile:*",
    ],
    "gis_analyst": [
        "incident:view",
        "hazardclass:*",
        "hazardzone:*",
        "exposurerun:view",
        "exposurerun:add",  # analysts draw zones, so they run analyses of them; deleting runs is for coordinators
        "exposureresult:view",
        "needsprofile:view",
    ],
    "program_officer": [
        "incident:view",
        "hazardclass:view",
        "hazardzone:view",
        "exposurerun:view",
        "exposureresult:view",
        "needsprofile:view",
    ],
    "logistics_officer": [
        "incident:view",
        "hazardzone:view",
        "exposurerun:view",
        "needsprofile:view",
    ],
    # Finance officers read the map like logistics officers (where payments go), without household results.
    "finance_officer": ["incident:view", "hazardzone:view", "exposurerun:view", "needsprofile:view"],
    "auditor": [
        "incident:view",
        "hazardclass:view",
        "hazardzone:view",
        "exposurerun:view",
        "exposureresult:view",
        "needsprofile:view",
    ],
}

# Grievance officers and partners see which incidents there are and where their zones lie (no household results).
ROLE_GRANTS["grievance_officer"] = ["incident:view", "hazardclass:view", "hazardzone:view"]
ROLE_GRANTS["partner"] = ["incident:view", "hazardclass:view", "hazardzone:view"]
