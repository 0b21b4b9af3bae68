"""Roles are Django groups. Each app lists what its roles may do in a module-level ROLE_GRANTS in its own
``roles.py``; this module collects them, so the kernel never needs to know the apps' models.

ROLE_GRANTS = {"<role key>": ["<model>:<action>", "<model>:*"]}, action in view/add/change/delete.
"""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps
from django.db import transaction

ROLES: dict[str, str] = {
    "emergency_coordinator": "Emergency coordinator",
    "gis_analyst": "GIS analyst",
    "program_officer": "Program officer",
    "finance_officer": "Finance officer",
    "logistics_officer": "Logistics officer",
    "grievance_officer": "Grievance officer",
    "auditor": "Auditor",
    "partner": "Partner",
    "administrator": "Administrator",
}
ACTIONS = ("view", "add", "change", "delete")

# The kernel's own model: the audit log, read by auditors (administrators hold every permission).
ROLE_GRANTS = {"auditor": ["auditevent:view"]}


def _collect_grants() -> dict[str, set[tuple[str, str]]]:
    """{role: {(app_label, codename)}} from every installed app's roles.ROLE_GRANTS."""
    grants: dict[str, set[tuple[str, str]]] = {role: set() for role in ROLES}
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.roles") is None:
            continue
        module = importlib.import_module(f"{config.name}.roles")
        for role, entries in getattr(module, "ROLE_GRANTS", {}).items():
            if role not in ROLES:
                raise ValueError(f"{config.name}.roles grants to unknown role {role!r}")
            for entry in entries:
                model, _, action = entry.partition(":")
                actions = ACTIONS if action == "*" else (action,)
                grants[role].update((config.label, f"{act}_{model}") for act in actions)
    return grants


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create or update the role groups to hold exactly their granted permissions. Returns counts per role."""
    from django.contrib.auth.models import Group, Permission

    grants = _collect_grants()
    every_permission = {
        (p.content_type.app_label, p.codename): p for p in Permission.objects.select_related("content_type")
    }
    counts = {}
    for role, label in ROLES.items():
        group, _ = Group.objects.get_or_create(name=label)
        if role == "administrator":
            wanted = list(every_permission.values())
        else:
            wanted = [every_permission[key] for key in grants[role] if key in every_permission]
        group.permissions.set(wanted)
        counts[role] = len(wanted)
    return counts


def sync_after_migrate(sender, **kwargs) -> None:
    # post_migrate is sent once per app that has models; permissions for every app exist once the last one's runs.
    last_with_models = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label == last_with_models.label:
        sync_roles()


def role_group_name(role: str) -> str:
    return ROLES[role]
