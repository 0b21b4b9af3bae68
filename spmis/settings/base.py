"""Settings shared by every environment. Values come from environment variables (spmis.env) with defaults that
are safe for local use only; spmis.settings.production refuses to start without the ones that matter."""

import hashlib
import hmac
from pathlib import Path

from spmis import country
from spmis.env import env_bool, env_floats, env_int, env_keys, env_list, env_secret_bytes, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "local-only-insecure-key-do-not-use-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "spmis.core",
    "geo",
    "registry",
    "layers",
    "response",
    "programs",
    "distribution",
    "grievances",
    "interop",
    "accountability",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "spmis.api.params.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "spmis.core.audit.AuditContextMiddleware",
]

ROOT_URLCONF = "spmis.urls"
WSGI_APPLICATION = "spmis.wsgi.application"
ASGI_APPLICATION = "spmis.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.country",
                "frontend.context_processors.jobs",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if url is None:
        # No server configured: run the project's own cluster under var/pg (started on demand).
        from spmis import localdb

        url = localdb.ensure_running().url()
    import dj_database_url

    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0))
    config["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# One country configuration (spmis.country): every page and service reads it; Bangladesh unless told otherwise.
ALL_LANGUAGES = [("en", "English"), ("bn", "বাংলা"), ("fr", "Français")]  # those the interface is translated to
SPMIS_COUNTRY = country.validate(
    {
        "code": env_str("SPMIS_COUNTRY_CODE", "BD"),
        "name": env_str("SPMIS_COUNTRY_NAME", "Bangladesh"),
        # min_lon, min_lat, max_lon, max_lat: the national start view of every map (not the extent of whatever
        # level-0 areas were imported, which one bad file can move to the Arctic).
        "bbox": env_floats("SPMIS_COUNTRY_BBOX", [88.0, 20.59, 92.69, 26.64]),
        "center": env_floats("SPMIS_COUNTRY_CENTER", None),  # lat,lon; the middle of the box if unset
        "zoom": env_int("SPMIS_COUNTRY_ZOOM", 7),
        "phone_region": env_str("SPMIS_PHONE_REGION", "BD"),
        "currency": env_str("SPMIS_CURRENCY", "BDT"),
        "level_names": env_list("SPMIS_ADMIN_LEVEL_NAMES", ["Country", "Division", "District", "Upazila"]),
        "languages": env_list("SPMIS_LANGUAGES", ["en", "bn", "fr"]),
        "chart_level": env_int("SPMIS_CHART_LEVEL", 2),
        "attribution": env_str("SPMIS_BOUNDARY_ATTRIBUTION", "Boundaries: BBS / OCHA COD-AB"),
    },
    known_languages=[code for code, _ in ALL_LANGUAGES],
)
LANGUAGES = [(code, name) for code, name in ALL_LANGUAGES if code in SPMIS_COUNTRY["languages"]]
LANGUAGE_CODE = SPMIS_COUNTRY["languages"][0]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads stream to disk rather than memory beyond this size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "spmis.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Only sign-in is throttled (spmis.api.throttling); the rest of the API needs a valid token or session first.
    "DEFAULT_THROTTLE_RATES": {"login": env_str("SPMIS_LOGIN_RATE", "10/min")},
    # How many proxies in front append to X-Forwarded-For; 0 trusts only the connecting address, so a client cannot
    # dodge the sign-in limit by sending a made-up X-Forwarded-For.
    "NUM_PROXIES": env_int("SPMIS_NUM_PROXIES", 0),
    "DEFAULT_PERMISSION_CLASSES": ["spmis.api.permissions.RolePermission"],
    "DEFAULT_PARSER_CLASSES": [
        "spmis.api.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "spmis.api.pagination.DefaultPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "spmis.api.exceptions.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "spmis API",
    "DESCRIPTION": "GIS-first social protection MIS for shock response.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The GeoJSON schema extension expects the read-only id in every component, so request and response share one.
    "COMPONENT_SPLIT_REQUEST": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "spmis.api.schema.document_errors",
        "spmis.api.schema.nullable_feature_geometries",
    ],
}

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": SPMIS_COUNTRY["center"],
    "DEFAULT_ZOOM": SPMIS_COUNTRY["zoom"],
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "TILES": [],
    "RESET_VIEW": False,
}

# Celery: no broker configured means tasks run in-process, synchronously, in the caller's transaction context.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker killed mid-task leaves its message unacknowledged; Redis hands it out again after this many seconds, and
# the redelivered task claims the row once its heartbeat is stale (spmis.core.jobs).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600)}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULE = {
    "jobs-fail-stuck": {"task": "core.jobs_fail_stuck", "schedule": env_int("SPMIS_JOB_SWEEP_EVERY_S", 60)},
}

SPMIS = {
    # Uploads (spmis.core.uploads): the largest file accepted per kind, and what a zip may unpack to.
    "AREA_IMPORT_MAX_BYTES": env_int("SPMIS_AREA_IMPORT_MAX_BYTES", 500 * 1024 * 1024),
    "REGISTRY_IMPORT_MAX_BYTES": env_int("SPMIS_REGISTRY_IMPORT_MAX_BYTES", 1024 * 1024 * 1024),
    "ZIP_MAX_MEMBERS": env_int("SPMIS_ZIP_MAX_MEMBERS", 10_000),
    "ZIP_MAX_UNPACKED_BYTES": env_int("SPMIS_ZIP_MAX_UNPACKED_BYTES", 8 * 1024 * 1024 * 1024),
    "API_MAX_PAGE_SIZE": env_int("SPMIS_API_MAX_PAGE_SIZE", 1000),
    # Registry-scale lists count exactly up to this many rows, and give the planner's estimate above it.
    "API_EXACT_COUNT_LIMIT": env_int("SPMIS_API_EXACT_COUNT_LIMIT", 10_000),
    "LAYER_VECTOR_MAX_BYTES": env_int("SPMIS_LAYER_VECTOR_MAX_BYTES", 500 * 1024 * 1024),
    "LAYER_RASTER_MAX_BYTES": env_int("SPMIS_LAYER_RASTER_MAX_BYTES", 2 * 1024 * 1024 * 1024),
    # Jobs (spmis.core.jobs): a running worker stamps its row every JOB_HEARTBEAT_S seconds; a row unstamped for
    # JOB_STALE_AFTER_S is taken as lost (claimable by a redelivered task, failed by the periodic sweep).
    "JOB_HEARTBEAT_S": env_int("SPMIS_JOB_HEARTBEAT_S", 10),
    "JOB_STALE_AFTER_S": env_int("SPMIS_JOB_STALE_AFTER_S", 300),
    "JOB_TRANSIENT_RETRIES": env_int("SPMIS_JOB_TRANSIENT_RETRIES", 3),
    # How long the pages poll a job before saying it is taking too long.
    "JOB_POLL_DEADLINE_S": env_int("SPMIS_JOB_POLL_DEADLINE_S", 1800),
    # Hosts CAP alerts may be fetched from even when they resolve to private addresses (an internal feed); any
    # other URL must resolve to public internet addresses only (layers.fetch).
    "CAP_FEED_HOSTS": env_list("SPMIS_CAP_FEED_HOSTS", []),
    # API tokens older than this are refused (401); POST /api/v1/auth/token/ issues a new one.
    "TOKEN_TTL_HOURS": env_int("SPMIS_TOKEN_TTL_HOURS", 24 * 7),
    # Payments (docs/payments.md): payments per file of a batch; an account changed this many days or fewer before
    # a batch is flagged on it.
    "PAYMENT_FILE_MAX_PAYMENTS": env_int("SPMIS_PAYMENT_FILE_MAX_PAYMENTS", 50_000),
    "PAYMENT_ACCOUNT_CHANGE_DAYS": env_int("SPMIS_PAYMENT_ACCOUNT_CHANGE_DAYS", 30),
    "PAYMENT_REPORT_MAX_BYTES": env_int("SPMIS_PAYMENT_REPORT_MAX_BYTES", 2 * 1024 * 1024 * 1024),
    # Published statistics (spmis.core.disclosure): a cell counting fewer people or cases than this is suppressed.
    "PUBLISH_MIN_CELL": env_int("SPMIS_PUBLISH_MIN_CELL", 10),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {name: {"level": "WARNING"} for name in ("pyogrio", "numexpr", "rasterio", "fiona")},
}


# Payment account numbers: AES-GCM keys (`keyid:base64key,...`, the first encrypts, every one decrypts) and the
# separate HMAC key of their blind index (docs/payments.md). Without them, a development default is derived from the
# secret key so that local runs and tests work; spmis.settings.production requires both and never derives.
def _development_secret(label: str) -> bytes:
    return hmac.new(SECRET_KEY.encode(), label.encode(), hashlib.sha256).digest()


SPMIS_ACCOUNT_KEYS = env_keys("SPMIS_ACCOUNT_KEYS") or [("dev", _development_secret("spmis.account.encryption"))]
SPMIS_ACCOUNT_INDEX_KEY = env_secret_bytes("SPMIS_ACCOUNT_INDEX_KEY") or _development_secret("spmis.account.index")

# ID cards and verifiable credentials (docs/credentials.md): the issuer identifier written into every credential
# (`iss`, the public base URL of this deployment) and a JSON Web Key Set of private signing keys (first key signs,
# all verify; `manage.py credential_keys rotate`). Without a file a development key is derived from SECRET_KEY;
# spmis.settings.production requires the file.
SPMIS_CREDENTIAL_ISSUER = env_str("SPMIS_CREDENTIAL_ISSUER", "http://127.0.0.1:8000")
SPMIS_CREDENTIAL_KEYS_FILE = env_str("SPMIS_CREDENTIAL_KEYS_FILE", None)
# The Claim 169 fields a card's QR carries (names as in programs/credentials/claim169.py); minimised by default.
SPMIS_CREDENTIAL_QR_FIELDS = env_list(
    "SPMIS_CREDENTIAL_QR_FIELDS", ["id", "fullName", "locationCode", "programCode", "cardCode"]
)

# Debian 12 ships GDAL 3.6, which cannot block network access from spatial references; uploads are read only
# through pyogrio/rasterio's own GDAL, and GeoDjango's GDAL is used for trusted EPSG codes only.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
# Grievances: the SMS gateway's shared secret for the webhook's HMAC-SHA256 signature (empty: the webhook is off).
GRIEVANCE_SMS_SECRET = env_str("SPMIS_GRIEVANCE_SMS_SECRET", "") or ""
CELERY_BEAT_SCHEDULE["grievances-escalate"] = {
    "task": "grievances.escalate_breached",
    "schedule": env_int("SPMIS_GRIEVANCE_SWEEP_EVERY_S", 300),
}

# Interop: the public base of our CRVS callbacks (on-subscribe, notify; default the credential issuer's URL) and
# national ID verification (docs/interoperability.md): an adapter class, off when unset.
SPMIS_CRVS_CALLBACK_BASE = env_str("SPMIS_CRVS_CALLBACK_BASE", None)
SPMIS_ID_VERIFICATION_ADAPTER = env_str("SPMIS_ID_VERIFICATION_ADAPTER", None)
SPMIS_ID_VERIFICATION_URL = env_str("SPMIS_ID_VERIFICATION_URL", None)
SPMIS_ID_VERIFICATION_TOKEN = env_str("SPMIS_ID_VERIFICATION_TOKEN", None)
SPMIS_ID_VERIFICATION_TIMEOUT_S = env_int("SPMIS_ID_VERIFICATION_TIMEOUT_S", 10)
