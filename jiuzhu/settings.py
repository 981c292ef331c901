"""Django settings for jiuzhu.

Everything that differs between a laptop demo, a county server and a provincial deployment comes from the
environment (12-factor, as in healthchecks' ``hc/settings.py``); secrets may also come from ``*_FILE`` paths.

JIUZHU_MODE=demo enables the demo accounts (fixed passwords, printed by ``make demo``) and waives TOTP for them.
Any other mode refuses default passwords and requires TOTP for admin roles.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JIUZHU_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the file named by NAME_FILE (docker/systemd secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def _secret_key() -> str:
    value = env("SECRET_KEY")
    if value:
        return value
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# A var/ directory set up by `jiuzhu demo-setup` carries a DEMO_MODE marker, so the commands that follow
# (`jiuzhu demo-accounts --json`, `jiuzhu serve`) need no environment variable. JIUZHU_MODE always wins.
JIUZHU_MODE = env("JIUZHU_MODE") or ("demo" if (VAR_DIR / "DEMO_MODE").exists() else "production")
DEMO_MODE = JIUZHU_MODE == "demo"
DEBUG = env("DEBUG", "0") == "1"
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = (env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver") or "").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "jiuzhu.core",
    "jiuzhu.accounts",
    "jiuzhu.registry",
    "jiuzhu.batch",
    "jiuzhu.synth",
    "jiuzhu.policyadmin",
    "jiuzhu.cases",
    "jiuzhu.verification",
    "jiuzhu.payments",
    "jiuzhu.portal",
    "jiuzhu.api",
    "jiuzhu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "jiuzhu.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jiuzhu.accounts.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "jiuzhu.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "jiuzhu.urls"
WSGI_APPLICATION = "jiuzhu.wsgi.application"

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
                "jiuzhu.web.context.site",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'jiuzhu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("CONN_MAX_AGE", "0") or 0))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the page server read while an import writes; IMMEDIATE serialises writers up front so the
    # audit hash chain never forks (SECURITY AUD-CHAIN).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_NAME", "") or None}
else:
    # Several test runs may share one server (CI, parallel work): each gets its own throw-away database.
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DB_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- keys (outside the database; SECURITY CRY-KEYS) --------------------------------------------------------
JIUZHU_KEY_FILE = env("JIUZHU_KEY_FILE", str(VAR_DIR / "keys" / "jiuzhu-keys.json"))

# --- login policy (SECURITY AUTH-LOCK, AUTH-SESS, AUTH-PWD, AUTH-2FA) ---------------------------------------
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGIN_MAX_FAILURES = int(env("LOGIN_MAX_FAILURES", "5") or 5)
LOGIN_FAILURE_WINDOW_MIN = int(env("LOGIN_FAILURE_WINDOW_MIN", "15") or 15)
LOGIN_LOCK_MIN = int(env("LOGIN_LOCK_MIN", "15") or 15)
LOGIN_IP_PER_MINUTE = int(env("LOGIN_IP_PER_MINUTE", "10") or 10)
SESSION_IDLE_MIN = int(env("SESSION_IDLE_MIN", "30") or 30)
SESSION_IDLE_ADMIN_MIN = int(env("SESSION_IDLE_ADMIN_MIN", "15") or 15)
SESSION_ABSOLUTE_HOURS = int(env("SESSION_ABSOLUTE_HOURS", "12") or 12)
PASSWORD_PROFILE = env("PASSWORD_PROFILE", "dengbao") or "dengbao"  # dengbao | asvs
PASSWORD_MAX_AGE_DAYS = int(env("PASSWORD_MAX_AGE_DAYS", "90") or 90)
INITIAL_PASSWORD_VALID_HOURS = int(env("INITIAL_PASSWORD_VALID_HOURS", "72") or 72)
ACCOUNT_INACTIVE_DAYS = int(env("ACCOUNT_INACTIVE_DAYS", "90") or 90)
API_TOKEN_HOURS = int(env("API_TOKEN_HOURS", "12") or 12)  # bearer tokens of /api/v1
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env("SECURE_COOKIES", "0") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "jiuzhu.accounts.passwords.ProfileValidator"},
]

# --- i18n: Chinese first ------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "jiuzhu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
IMPORT_MAX_BYTES = int(env("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)) or 0)
JIUZHU_JOBS_INLINE = env("JIUZHU_JOBS_INLINE", "0") == "1"  # run batch jobs in the request (tests, CLI)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
