"""The shipped categories, again: a test database emptied by a transactional test (TRUNCATE) loses the rows the
data migration wrote, and the demo should not depend on them having survived."""

from __future__ import annotations

import importlib

from django.apps import apps


def categories_ensure() -> int:
    """Write the shipped categories (grievances/migrations/0003_categories.py) where they are missing. Returns how
    many rows were written."""
    seed = importlib.import_module("grievances.migrations.0003_categories")
    Category = apps.get_model("grievances", "Category")
    if Category.objects.filter(code__in=[row[0] for row in seed.CATEGORIES]).count() == len(seed.CATEGORIES):
        return 0
    seed.seed(apps, None)
    return len(seed.CATEGORIES)
