ROLE_GRANTS = {
    "emergency_coordinator": ["warehouse:view", "distributionpoint:view"],
    "gis_analyst": ["warehouse:view", "distributionpoint:view"],
    "program_officer": ["warehouse:view", "distributionpoint:view"],
    "logistics_officer": ["warehouse:*", "distributionpoint:*"],
    "auditor": ["warehouse:view", "distributionpoint:view"],
}
