ROLE_GRANTS = {
    "emergency_coordinator": ["household:view", "individual:view", "membership:view"],
    "gis_analyst": ["household:view"],
    "program_officer": ["household:view", "individual:view", "membership:view"],
    "logistics_officer": ["household:view"],
    "auditor": ["household:view", "individual:view", "membership:view"],
}
