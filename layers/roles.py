ROLE_GRANTS = {
    "emergency_coordinator": [
        "vectorlayer:view",
        "rasterlayer:view",
        "capalert:view",
        "capalert:add",
        "layerimport:view",
        "layerimport:add",
    ],
    "gis_analyst": ["vectorlayer:*", "rasterlayer:*", "capalert:*", "layerimport:*", "vectorfeature:view"],
    "program_officer": ["vectorlayer:view", "rasterlayer:view", "capalert:view"],
    "logistics_officer": ["vectorlayer:view", "rasterlayer:view", "capalert:view"],
    "finance_officer": ["vectorlayer:view", "rasterlayer:view", "capalert:view"],
    "auditor": ["vectorlayer:view", "rasterlayer:view", "capalert:view", "layerimport:view"],
}
