"""Settings of the reference app. Everything that varies comes from the environment:

VCFQ_DRF_SAMPLES    JSON file {"<uuid>": "/path/to/sample.vcf.gz", ...} (required)
VCFQ_DRF_API_KEYS   file with the accepted API keys, one a line ('#' lines and blank
                    lines skipped), as `vcfq serve --api-keys`
VCFQ_DRF_DBSNP      a dbSNP map directory (`vcfq dbsnp build`), or unset
VCFQ_DRF_RATE       the per-key throttle rate, e.g. "5/s"; unset or empty: no throttle
VCFQ_DRF_PAGE_SIZE  REST_FRAMEWORK["PAGE_SIZE"]; unset or empty: None (DRF's default)
"""
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))

SECRET_KEY = "vcfq-drf-reference-app-not-secret"
DEBUG = False
# Django matches the Host header's name (its port is ignored) against this list.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # DRF's default UNAUTHENTICATED_USER is django.contrib.auth's AnonymousUser,
    # whose module needs these two apps installed (no table is ever read).
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # APPEND_SLASH (Django's default True) and the Host check on every request.
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "refapp.urls"
WSGI_APPLICATION = "refapp.wsgi.application"
TEMPLATES = []  # no 404.html: Django's built-in production error pages

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "vcfq-drf-throttle",
    }
}

USE_TZ = True
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None  # keep runserver quiet apart from its own access log


def _page_size():
    value = os.environ.get("VCFQ_DRF_PAGE_SIZE", "").strip()
    return int(value) if value else None


def _rate():
    value = os.environ.get("VCFQ_DRF_RATE", "").strip()
    return value or None


def _api_keys():
    path = os.environ.get("VCFQ_DRF_API_KEYS", "").strip()
    if not path:
        return frozenset()
    keys = set()
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                keys.add(line)
    return frozenset(keys)


VCFQ_SAMPLES_FILE = os.environ.get("VCFQ_DRF_SAMPLES", "")
VCFQ_DBSNP = os.environ.get("VCFQ_DRF_DBSNP") or None
VCFQ_API_KEYS = _api_keys()

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DEFAULT_PARSER_CLASSES: DRF's defaults (JSON, form, multipart).
    "DEFAULT_AUTHENTICATION_CLASSES": ["refapp.policies.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["refapp.policies.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": _rate()},
    "DEFAULT_PAGINATION_CLASS": "refapp.policies.MetaLimitOffsetPagination",
    "PAGE_SIZE": _page_size(),
}
