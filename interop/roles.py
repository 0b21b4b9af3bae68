ROLE_GRANTS: dict[str, list[str]] = {}
# Partners' systems registered as DCI senders search the registry through their service user (interop.dci).
ROLE_GRANTS.setdefault("partner", []).append("dcisender:search")
# Staff read what civil registries notified (interop.crvs); the change requests themselves are the registry's.
for _role in ("program_officer", "emergency_coordinator", "auditor"):
    ROLE_GRANTS.setdefault(_role, []).extend(["crvsevent:view", "crvssource:view", "crvssubscription:view"])
# Officers who register people may check their ID documents against the national ID system (interop.national_id).
ROLE_GRANTS.setdefault("program_officer", []).extend(["idverification:view", "idverification:add"])
ROLE_GRANTS.setdefault("auditor", []).append("idverification:view")
