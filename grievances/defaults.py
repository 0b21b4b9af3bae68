"""The categories every deployment starts with (the product needs them at run time, so they ship as data).
Installed by migration 0003 and restored after every migrate or flush (post_migrate), so a database emptied by a
test flush gets them back; what users changed is never overwritten."""

from __future__ import annotations

# code, name, parent code, default severity, hours to acknowledge, hours to resolve, sensitive
CATEGORIES = [
    ("payment", "Payments", None, "medium", 48, 14 * 24, False),
    ("payment-not-received", "Payment not received", "payment", "high", 24, 7 * 24, False),
    ("payment-wrong-amount", "Wrong amount", "payment", "medium", 48, 14 * 24, False),
    ("targeting", "Targeting", None, "medium", 72, 30 * 24, False),
    ("exclusion-error", "Exclusion error / not on the list", "targeting", "medium", 72, 30 * 24, False),
    ("inclusion-error", "Inclusion error", "targeting", "low", 72, 30 * 24, False),
    ("distribution-point", "Distribution point problem", None, "medium", 24, 7 * 24, False),
    ("goods-quality", "Stock or goods quality", None, "medium", 48, 14 * 24, False),
    ("registration-data", "Registration data wrong", None, "low", 72, 30 * 24, False),
    ("card-credential", "Card or credential", None, "medium", 48, 14 * 24, False),
    ("fraud-corruption", "Fraud or corruption", None, "high", 24, 30 * 24, True),
    ("gbv-sea", "Gender-based violence / sexual exploitation and abuse", None, "critical", 4, 7 * 24, True),
    ("staff-conduct", "Staff conduct", None, "high", 24, 14 * 24, False),
    ("feedback", "Feedback or suggestion", None, "low", 120, 30 * 24, False),
    ("information-request", "Information request", None, "low", 48, 7 * 24, False),
    ("other", "Other", None, "medium", 72, 30 * 24, False),
]


def ensure_categories(Category) -> None:
    for code, name, parent, severity, ack, resolve, sensitive in CATEGORIES:
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": Category.objects.get(code=parent) if parent else None,
                "default_severity": severity,
                "ack_sla_hours": ack,
                "resolve_sla_hours": resolve,
                "sensitive": sensitive,
            },
        )


def ensure_categories_after_migrate(sender, **kwargs) -> None:
    from django.apps import apps as global_apps

    ensure_categories((kwargs.get("apps") or global_apps).get_model("grievances", "Category"))


def categories_ensure() -> None:
    """The shipped categories where they are missing (the demo and tests call it rather than trust that no TRUNCATE
    ran since the last migrate)."""
    from django.apps import apps as global_apps

    ensure_categories(global_apps.get_model("grievances", "Category"))
