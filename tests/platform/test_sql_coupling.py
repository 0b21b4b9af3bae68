"""SQL strings obey the same one-way dependency order as imports: an app names only its own tables and those of the
apps below it. import-linter cannot see a table name inside a string, so this test reads the code for them."""

import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

# Bottom to top, as in pyproject.toml's import-linter layers (registry and layers are peers: neither may name the
# other's tables).
LAYERS = [
    {"core"},
    {"geo"},
    {"registry", "layers"},
    {"response"},
    {"programs"},
    {"distribution"},
    {"grievances", "interop"},
    {"accountability"},
    {"frontend"},
]


# Known debt, to be paid and removed from here (the test fails when an entry is no longer needed, so the list can
# only shrink). Empty now: keep it so.
KNOWN: set[str] = set()


def level(label: str) -> int:
    return next(index for index, labels in enumerate(LAYERS) if label in labels)


def tables_by_app() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.app_label
        if any(label in labels for labels in LAYERS):
            tables.setdefault(label, set()).add(model._meta.db_table)
    return tables


def forbidden_tables(label: str, tables: dict[str, set[str]]) -> dict[str, str]:
    """{table: owning app} for the tables that app `label` must not name."""
    mine = level(label)
    return {
        table: owner for owner, names in tables.items() if owner != label and level(owner) >= mine for table in names
    }


def test_no_app_names_the_tables_of_an_app_above_it_or_beside_it():
    tables = tables_by_app()
    violations = []
    for config in apps.get_app_configs():
        if not any(config.label in labels for labels in LAYERS):
            continue
        forbidden = forbidden_tables(config.label, tables)
        if not forbidden:
            continue
        pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, forbidden), key=len, reverse=True)) + r")\b")
        root = Path(config.path)
        for path in sorted([*root.rglob("*.py"), *root.rglob("*.sql")]):
            text = path.read_text()
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                table = match.group(1)
                relative = path.relative_to(settings.BASE_DIR)
                violations.append(
                    (f"{relative} names {table}", f"{relative}:{line} names {table} ({forbidden[table]})")
                )
    new = [where for key, where in violations if key not in KNOWN]
    assert not new, "\n".join(new)
    assert {key for key, _ in violations} >= KNOWN, "an entry of KNOWN is paid: remove it"


def test_the_check_itself_finds_a_table_named_against_the_order():
    tables = tables_by_app()
    assert "registry_household" in forbidden_tables("geo", tables)
    assert "distribution_warehouse" in forbidden_tables("response", tables)
    assert "layers_vectorlayer" in forbidden_tables("registry", tables)
    assert "geo_area" not in forbidden_tables("registry", tables)
