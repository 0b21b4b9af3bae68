ROLE_GRANTS: dict[str, list[str]] = {}
