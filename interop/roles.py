ROLE_GRANTS: dict[str, list[str]] = {}
# Partners' systems registered as DCI senders search the registry through their service user (interop.dci).
ROLE_GRANTS.setdefault("partner", []).append("dcisender:search")
