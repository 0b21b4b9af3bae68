"""House rules that CI enforces: lint, formatting, the one-way dependency contract, migrations in step with models."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command

VENV_BIN = __import__("pathlib").Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    result = run(str(VENV_BIN / "ruff"), "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    result = run(str(VENV_BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_apps_depend_one_way():
    result = run(str(VENV_BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.django_db
def test_migrations_match_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
