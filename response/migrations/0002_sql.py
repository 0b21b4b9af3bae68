from django.db import migrations

from geo.sql import audit_enable

DEFAULT_CLASSES = [
    # InaSAFE flood depth classes (metres): 0.1–0.7 low, 0.7–1.5 moderate, ≥ 1.5 high.
    ("flood", "low", "Low", 1, 0.1, 0.7, 0.1, "#fee08b"),
    ("flood", "moderate", "Moderate", 2, 0.7, 1.5, 0.3, "#fc8d59"),
    ("flood", "high", "High", 3, 1.5, None, 0.7, "#d73027"),
]
for hazard in ("fire", "cyclone", "earthquake", "drought", "other"):
    DEFAULT_CLASSES += [
        (hazard, "low", "Low", 1, None, None, 0.05, "#fee08b"),
        (hazard, "moderate", "Moderate", 2, None, None, 0.2, "#fc8d59"),
        (hazard, "high", "High", 3, None, None, 0.5, "#d73027"),
        (hazard, "severe", "Severe", 4, None, None, 0.8, "#7f0000"),
    ]


def seed(apps, schema_editor):
    HazardClass = apps.get_model("response", "HazardClass")
    NeedsProfile = apps.get_model("response", "NeedsProfile")
    for hazard, key, name, rank, low, high, rate, color in DEFAULT_CLASSES:
        HazardClass.objects.get_or_create(
            incident=None,
            hazard_type=hazard,
            key=key,
            defaults={
                "name": name, "rank": rank, "min_value": low, "max_value": high,
                "displacement_rate": rate, "color": color,
            },
        )
    NeedsProfile.objects.get_or_create(
        name="Sphere minimum",
        defaults={
            "is_default": True,
            "days": 7,
            "items": [
                {"item": "water", "unit": "L", "per_person_per_day": 15},
                {"item": "food energy", "unit": "kcal", "per_person_per_day": 2100},
            ],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("response", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        audit_enable(
            "response_incident",
            "response_incident_areas",
            "response_hazardclass",
            "response_hazardzone",
            "response_needsprofile",
            "response_exposurerun",
            "response_exposurerun_zones",
            "response_exposedfacility",
        ),
        # Joins from eligibility rules, exports and maps go by run then class, or by household across runs.
        migrations.RunSQL(
            "CREATE INDEX response_result_run_rank ON response_exposureresult (run_id, class_rank);"
            "CREATE INDEX response_result_household ON response_exposureresult (household_id);",
            reverse_sql="DROP INDEX response_result_run_rank; DROP INDEX response_result_household;",
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
