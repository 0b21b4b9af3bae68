"""Default hazard classes per hazard type and the default needs profile. Installed by migration 0002 and restored
after every migrate or flush (post_migrate), so a database emptied by a test flush gets them back."""

from __future__ import annotations

DEFAULT_CLASSES = [
    # InaSAFE flood depth classes (metres): 0.1–0.7 low, 0.7–1.5 moderate, ≥ 1.5 high.
    ("flood", "low", "Low", 1, 0.1, 0.7, 0.1, "#fee08b"),
    ("flood", "moderate", "Moderate", 2, 0.7, 1.5, 0.3, "#fc8d59"),
    ("flood", "high", "High", 3, 1.5, None, 0.7, "#d73027"),
]
for _hazard in ("fire", "cyclone", "earthquake", "drought", "other"):
    DEFAULT_CLASSES += [
        (_hazard, "low", "Low", 1, None, None, 0.05, "#fee08b"),
        (_hazard, "moderate", "Moderate", 2, None, None, 0.2, "#fc8d59"),
        (_hazard, "high", "High", 3, None, None, 0.5, "#d73027"),
        (_hazard, "severe", "Severe", 4, None, None, 0.8, "#7f0000"),
    ]

SPHERE_PROFILE = {
    "name": "Sphere minimum",
    "is_default": True,
    "days": 7,
    "items": [
        {"item": "water", "unit": "L", "per_person_per_day": 15},
        {"item": "food energy", "unit": "kcal", "per_person_per_day": 2100},
    ],
}


def ensure_defaults(hazard_class_model, needs_profile_model) -> None:
    """Create the default classes and profile when missing; never overwrite what users changed."""
    for hazard, key, name, rank, low, high, rate, color in DEFAULT_CLASSES:
        hazard_class_model.objects.get_or_create(
            incident=None,
            hazard_type=hazard,
            key=key,
            defaults={
                "name": name,
                "rank": rank,
                "min_value": low,
                "max_value": high,
                "displacement_rate": rate,
                "color": color,
            },
        )
    if not needs_profile_model.objects.exists():
        needs_profile_model.objects.create(**SPHERE_PROFILE)


def ensure_defaults_after_migrate(sender, **kwargs) -> None:
    if sender.name != "response":
        return
    from response.models import HazardClass, NeedsProfile

    ensure_defaults(HazardClass, NeedsProfile)
