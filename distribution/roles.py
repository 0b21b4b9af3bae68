ROLE_GRANTS = {
    "emergency_coordinator": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "gis_analyst": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "program_officer": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "logistics_officer": ["warehouse:*", "distributionpoint:*", "facilityexposure:view"],
    "auditor": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
}
# Distribution plans: the logistics officer makes them, the other roles read them.
for _role in ("emergency_coordinator", "gis_analyst", "program_officer", "auditor"):
    ROLE_GRANTS[_role] = [*ROLE_GRANTS[_role], "distributionplan:view"]
ROLE_GRANTS["logistics_officer"] = [*ROLE_GRANTS["logistics_officer"], "distributionplan:*"]
