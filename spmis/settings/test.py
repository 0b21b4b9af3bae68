"""Test settings: the same real PostGIS (own throwaway database), fast password hashing, eager Celery."""

from spmis.env import env_str

from .base import *  # noqa: F403
from .base import DATABASES

# Several test runs may share one cluster (e.g. parallel developers); each names its own test database.
DATABASES["default"]["TEST"] = {"NAME": env_str("SPMIS_TEST_DB", "test_spmis")}
# Transactional tests empty tables with TRUNCATE, which the audit log refuses unless the session allows it.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c spmis.audit_truncate=allow"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
