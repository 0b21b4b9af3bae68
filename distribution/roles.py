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

# Stock (distribution.stock): everyone who sees warehouses sees the catalogue, stock and its documents; logistics
# officers keep the catalogue and record movements (documents and lines are append-only: add, never change).
STOCK_VIEW = [
    "stockitem:view",
    "stockunit:view",
    "stocklot:view",
    "stockbalance:view",
    "stockdocument:view",
    "stockdocumentline:view",
    "stockmovement:view",
]
for _role in ("emergency_coordinator", "gis_analyst", "program_officer", "auditor"):
    ROLE_GRANTS[_role] = ROLE_GRANTS[_role] + STOCK_VIEW
ROLE_GRANTS["logistics_officer"] = (
    ROLE_GRANTS["logistics_officer"]
    + STOCK_VIEW
    + [
        "stockitem:add",
        "stockitem:change",
        "stockunit:add",
        "stockunit:change",
        "stockunit:delete",
        "stocklot:add",
        "stocklot:change",
        "stockdocument:add",
        "stockmovement:add",
    ]
)

# Redemption (distribution.redemption): logistics officers run the points, register devices and follow up
# conflicts; the others read.
_REDEMPTION_READ = ["redemption:view", "redemptionline:view", "device:view", "redemptionbatch:view"]
ROLE_GRANTS["logistics_officer"] += [
    *_REDEMPTION_READ, "redemption:add", "device:add", "device:change", "redemptionbatch:add",
    "redemptionconflict:view", "redemptionconflict:change", "redemptionbalance:view",
]  # fmt: skip
ROLE_GRANTS["program_officer"] += [*_REDEMPTION_READ, "redemptionconflict:view", "redemptionbalance:view"]
ROLE_GRANTS["emergency_coordinator"] += [*_REDEMPTION_READ, "redemptionconflict:view"]
ROLE_GRANTS["auditor"] += [*_REDEMPTION_READ, "redemptionconflict:view", "redemptionbalance:view"]


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
