"""项目设置：全部取自环境变量，缺省为单机演示（SQLite + django-q2 ORM broker）。"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str = "False") -> bool:
    return os.environ.get(name, default).lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


DEBUG = envbool("DEBUG", "True")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("生产环境必须设置 SECRET_KEY 环境变量")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tables2",
    "django_filters",
    "import_export",
    "django_q",
    "axes",
    "workplan",
    "scoring",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from the app processes (gunicorn), compressed and cache-busted.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # 等保二级: idle sessions end after 15 minutes; an initial or expired password must be changed first.
    "workplan.middleware.IdleTimeoutMiddleware",
    "workplan.middleware.PasswordExpiryMiddleware",
    # Last, as django-axes requires: turns a locked-out login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workplan.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=envint("CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Take the write lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "workplan.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "workplan.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},  # Chinese message
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "workplan.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "workplan.passwords.NotCurrentPasswordValidator"},
]

# —— 安全（等保二级），详见 README“安全（等保二级）”；config/security.py 的部署检查守住下限 ——
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP before any password check
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_MAX_AGE_DAYS = envint("PASSWORD_MAX_AGE_DAYS", "90")  # 0: no expiry (initial passwords still change)

# Login lockout (django-axes, counters in the database): 5 failures for one username from one address lock
# that pair for LOGIN_LOCKOUT_MINUTES (at least 5); trying again while locked restarts the clock.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=max(5, envint("LOGIN_LOCKOUT_MINUTES", "5")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "workplan.audit.client_ip"  # the same address the audit log records

# Sessions end after SESSION_IDLE_MINUTES (at most 15) without a request, and when the browser closes.
SESSION_IDLE_TIMEOUT = min(envint("SESSION_IDLE_MINUTES", "15"), 15) * 60
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# HTTPS only in production. Behind a TLS-terminating proxy either keep the redirect and set
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (the proxy must overwrite that header), or let the proxy
# redirect and set SECURE_SSL_REDIRECT=False.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(not DEBUG))
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (os.environ["SECURE_PROXY_SSL_HEADER"], "https")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(not DEBUG))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(not DEBUG))
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(not DEBUG))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS preload means submitting the domain to the browsers' list: a deliberate step, not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# plotly.js (季度看板) is served from the installed plotly wheel, not committed: see config/staticfinders.py.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfinders.PlotlyFinder",
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Several app processes or machines: MEDIA_ROOT must be one shared directory (NFS or similar) for all.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Sessions and the cache live in the database, so every app process sees the same logins and cached
# values (django-axes keeps its lockout counters in its own tables). `manage.py createcachetable` creates
# the cache table (make run does it; the test runner does it for the test database).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"},
}

# Uploads: plans and spreadsheets are small; anything bigger is refused with a clear message.
MAX_UPLOAD_BYTES = envint("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# django-q2: one broker (the ORM broker in the default database), two queues. "name" is the same in every
# process (django-q2 signs task payloads with it). Each `manage.py qcluster` serves the queue named by the
# Q_CLUSTER_NAME environment variable, which django-q2 reads itself: unset -> the default queue (reminders and
# every schedule); "long" -> imports, exports and report generation, sent with
# async_task(..., cluster=Q_LONG_CLUSTER) and given their own timeout. retry must exceed timeout in every
# queue (config/qcluster_check.py refuses to start otherwise).
Q_LONG_CLUSTER = "long"
Q_LONG = {
    "workers": envint("Q_LONG_WORKERS", "1"),
    "timeout": envint("Q_LONG_TIMEOUT", "3600"),
    "retry": envint("Q_LONG_RETRY", "3900"),
    "max_attempts": 2,
}
Q_CLUSTER = {
    "name": "zwgk",
    "orm": "default",
    "workers": envint("Q_WORKERS", "2"),
    "timeout": envint("Q_TIMEOUT", "300"),
    "retry": envint("Q_RETRY", "360"),
    "max_attempts": 3,
    "catch_up": False,
    "label": "后台任务",
    "ALT_CLUSTERS": {Q_LONG_CLUSTER: Q_LONG},
}

# Background file jobs (workplan/file_jobs.py, "我的后台任务"): a list export with more rows than
# EXPORT_INLINE_ROWS, and a quarterly report of more tasks than REPORT_INLINE_TASKS (its Word document costs
# about 4 ms a task), is built on the "long" queue instead of in the request.
EXPORT_INLINE_ROWS = envint("EXPORT_INLINE_ROWS", "2000")
REPORT_INLINE_TASKS = envint("REPORT_INLINE_TASKS", "200")
# Their files are deleted this many days after they were made (workplan.tasks.file_jobs_purge, daily).
FILE_JOB_KEEP_DAYS = envint("FILE_JOB_KEEP_DAYS", "7")
# A plan import whose preview has more tasks than IMPORT_INLINE_TASKS is confirmed on the "long" queue
# (workplan.tasks.plan_import_confirm_run); smaller ones are confirmed in the request.
IMPORT_INLINE_TASKS = envint("IMPORT_INLINE_TASKS", "2000")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
