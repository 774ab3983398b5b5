"""A minimal Django project with footfall: no database of its own, one template folder."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS = ["django.contrib.staticfiles", "footfall.integrations.django.FootfallConfig"]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "footfall.integrations.django.PageViewMiddleware",
]
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [BASE_DIR / "templates"]}
]
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
USE_TZ = True

FOOTFALL_ANALYTICS = "mysite.analytics.analytics"
FOOTFALL_INJECT_SCRIPT = True
