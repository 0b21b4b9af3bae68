"""Production: every setting that protects data must be given explicitly, or the process refuses to start."""

from django.core.exceptions import ImproperlyConfigured

from spmis.env import env_bool, env_int, env_keys, env_list, env_secret_bytes, env_str

# Checked before the base settings load: without DATABASE_URL they would start the local development cluster.
env_str("DATABASE_URL", required=True)

from .base import *  # noqa: E402, F403

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required in production.")
DEBUG = False

# Jobs (imports, analyses) run on workers: without a broker they would run inside web requests, silently.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", required=True)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = False

# Sign-in throttling counts in the cache: one shared by every web process (a per-process cache would multiply the
# limit by the number of workers).
_cache_url = env_str("DJANGO_CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None)
if _cache_url is None:
    raise ImproperlyConfigured("DJANGO_CACHE_URL (redis://…) is required in production when the broker is not Redis.")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url, "KEY_PREFIX": "spmis"}
}

# HTTPS: the proxy in front terminates TLS and says so in X-Forwarded-Proto (docs/deploy.md).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Payment account numbers are encrypted with these keys (docs/payments.md): never the development default.
SPMIS_ACCOUNT_KEYS = env_keys("SPMIS_ACCOUNT_KEYS")
if not SPMIS_ACCOUNT_KEYS:
    raise ImproperlyConfigured("SPMIS_ACCOUNT_KEYS (keyid:base64key,...) is required in production.")
SPMIS_ACCOUNT_INDEX_KEY = env_secret_bytes("SPMIS_ACCOUNT_INDEX_KEY")
if SPMIS_ACCOUNT_INDEX_KEY is None:
    raise ImproperlyConfigured("SPMIS_ACCOUNT_INDEX_KEY (base64, 32 bytes or more) is required in production.")
if any(key == SPMIS_ACCOUNT_INDEX_KEY for _, key in SPMIS_ACCOUNT_KEYS):
    raise ImproperlyConfigured("SPMIS_ACCOUNT_INDEX_KEY must differ from every key in SPMIS_ACCOUNT_KEYS.")

# Credentials are signed with the issuer's keys from a file (docs/credentials.md), never the development key.
SPMIS_CREDENTIAL_KEYS_FILE = env_str("SPMIS_CREDENTIAL_KEYS_FILE", required=True)
SPMIS_CREDENTIAL_ISSUER = env_str("SPMIS_CREDENTIAL_ISSUER", required=True)

# The DCI server answers only once it has keys of its own (SPMIS_DCI_KEYS_FILE); until then it says so (503).
SPMIS_DCI_DEVELOPMENT_KEY = False
