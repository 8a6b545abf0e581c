"""测试设置：内存 SQLite（或 DATABASE_URL 指定的 PostgreSQL），同步执行 django-q2 任务。"""

import os
import tempfile

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests travel months ahead of the day their personas were created; the 90-day password expiry would send
# them to the change-password page. tests/test_security.py switches it back on where it is the subject.
PASSWORD_MAX_AGE_DAYS = 0
if not os.environ.get("DATABASE_URL"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
MEDIA_ROOT = tempfile.mkdtemp(prefix="zwgk-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="zwgk-test-static-")  # exists, so WhiteNoise does not warn
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
