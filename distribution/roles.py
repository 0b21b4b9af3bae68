ROLE_GRANTS = {
    "emergency_coordinator": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "gis_analyst": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "program_officer": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "logistics_officer": ["warehouse:*", "distributionpoint:*", "facilityexposure:view"],
    "auditor": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
}
