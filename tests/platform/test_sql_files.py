"""Shipped SQL files are history: each is named after the migration that runs it, and none is edited in place (a
database that already ran it would never see the edit). Behaviour changes in a new file run by a new migration;
then add the new file's line to sql_checksums.txt (`sha256sum <app>/sql/<file>.sql`)."""

import hashlib
import re
from pathlib import Path

from django.conf import settings

CHECKSUMS = Path(__file__).with_name("sql_checksums.txt")
APPS = ("geo", "registry", "layers", "response", "programs", "distribution", "grievances", "spmis")
NAME = re.compile(r"^(?P<number>\d{4})_[a-z0-9_]+\.sql$")


def shipped() -> dict[str, Path]:
    root = Path(settings.BASE_DIR)
    return {str(path.relative_to(root)): path for app in APPS for path in sorted((root / app).rglob("*.sql"))}


def recorded() -> dict[str, str]:
    entries = (line.split("  ", 1) for line in CHECKSUMS.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in entries}


def test_no_shipped_sql_file_was_edited_removed_or_added_unrecorded():
    actual = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in shipped().items()}
    expected = recorded()
    edited = sorted(name for name in actual.keys() & expected.keys() if actual[name] != expected[name])
    assert not edited, f"edited in place (write a new file and migration instead): {edited}"
    assert not sorted(expected.keys() - actual.keys()), "a shipped SQL file was removed"
    assert not sorted(actual.keys() - expected.keys()), "a new SQL file: add its checksum to sql_checksums.txt"


def test_every_sql_file_is_named_after_the_migration_that_runs_it():
    for name, path in shipped().items():
        match = NAME.match(path.name)
        assert match, f"{name}: name it <migration number>_<purpose>.sql"
        migrations = list((path.parent.parent / "migrations").glob(f"{match['number']}_*.py"))
        assert migrations, f"{name}: no migration {match['number']} in its app"
        assert any(path.name in migration.read_text() for migration in migrations), f"{name}: not run by its migration"
