"""Production settings refuse to start without what protects data and jobs, and never fall back to the local
development cluster. Each case imports the settings in a fresh interpreter with a controlled environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import spmis.localdb
def refuse(*args, **kwargs):
    raise SystemExit("the local cluster was started")
spmis.localdb.ensure_running = refuse
try:
    import spmis.settings.production as s
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
else:
    print(json.dumps({"eager": s.CELERY_TASK_ALWAYS_EAGER, "hsts": s.SECURE_HSTS_SECONDS,
                      "cache": s.CACHES["default"]["BACKEND"], "secure_cookies": s.SESSION_COOKIE_SECURE,
                      "ssl_redirect": s.SECURE_SSL_REDIRECT}))
"""
COMPLETE = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgis://spmis:secret@db.invalid:5432/spmis",
    "DJANGO_ALLOWED_HOSTS": "spmis.example.gov",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    "SPMIS_ACCOUNT_KEYS": "k1:" + "A" * 43 + "=",
    "SPMIS_ACCOUNT_INDEX_KEY": "B" * 43 + "=",
    "SPMIS_CREDENTIAL_KEYS_FILE": "/etc/spmis/credential-keys.json",
    "SPMIS_CREDENTIAL_ISSUER": "https://spmis.example.gov",
}


def load(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in COMPLETE}
    env.update({key: value for key, value in {**COMPLETE, **overrides}.items() if value is not None})
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_complete_production_settings_load_with_https_and_workers():
    loaded = load()
    assert loaded == {
        "eager": False,
        "hsts": 31536000,
        "cache": "django.core.cache.backends.redis.RedisCache",
        "secure_cookies": True,
        "ssl_redirect": True,
    }


def test_without_a_database_url_production_refuses_and_starts_no_local_cluster():
    assert load(DATABASE_URL=None) == {
        "error": "ImproperlyConfigured: The environment variable DATABASE_URL is required in this configuration."
    }


def test_without_a_broker_production_refuses_rather_than_running_jobs_in_requests():
    assert "CELERY_BROKER_URL" in load(CELERY_BROKER_URL=None)["error"]


def test_without_account_keys_production_refuses_rather_than_deriving_a_development_key():
    assert "SPMIS_ACCOUNT_KEYS" in load(SPMIS_ACCOUNT_KEYS=None)["error"]
    assert "SPMIS_ACCOUNT_INDEX_KEY" in load(SPMIS_ACCOUNT_INDEX_KEY=None)["error"]
    assert "not valid base64" in load(SPMIS_ACCOUNT_KEYS="k1:***")["error"]


def test_without_credential_keys_production_refuses_rather_than_signing_with_a_development_key():
    assert "SPMIS_CREDENTIAL_KEYS_FILE" in load(SPMIS_CREDENTIAL_KEYS_FILE=None)["error"]
    assert "SPMIS_CREDENTIAL_ISSUER" in load(SPMIS_CREDENTIAL_ISSUER=None)["error"]
