ROLE_GRANTS = {
    "emergency_coordinator": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "gis_analyst": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "program_officer": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
    "logistics_officer": ["warehouse:*", "distributionpoint:*", "facilityexposure:view"],
    "auditor": ["warehouse:view", "distributionpoint:view", "facilityexposure:view"],
}

# Roads and routes: everyone who sees facilities sees networks and routes; logistics officers load networks, keep
# the fleet and request routes.
ROADS_READ = ["roadnetwork:view", "roadnetworkload:view", "vehicle:view", "routerun:view"]
for _role in ("emergency_coordinator", "gis_analyst", "program_officer", "auditor"):
    ROLE_GRANTS[_role] = [*ROLE_GRANTS[_role], *ROADS_READ]
ROLE_GRANTS["logistics_officer"] = [
    *ROLE_GRANTS["logistics_officer"],
    "roadnetwork:*",
    "roadnetworkload:*",
    "vehicle:*",
    "routerun:*",
]
