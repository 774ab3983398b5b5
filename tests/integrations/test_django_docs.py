"""The Django setup of docs/frameworks.md, copied as a reader would into a new project:
``manage.py check`` passes, a page is counted, and a misspelt setting fails the check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BROWSER_UA

pytest.importorskip("django")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "frameworks.md"
BASE_SETTINGS = """\
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "mysite.urls"
"""
RUN = """\
import os

import django
from django.core.management import call_command
from django.test import Client

django.setup()
call_command("check")
from mysite.analytics import analytics

response = Client().get("/", HTTP_USER_AGENT=os.environ["BROWSER_UA"])
assert response.status_code == 200, response.status_code
response.close()  # the middleware counts the page once its response is closed
analytics.close()  # writes what is queued
print("views", analytics.api.get_dashboard_stats_sync(range="today").pageviews.value)
"""


def _django_files() -> dict[str, str]:
    """``mysite/<name>.py`` -> the code block that follows its name in the Django section."""
    section = DOCS.read_text().split("## Django", 1)[1].split("\n## ", 1)[0]
    block = r"`mysite/(\w+\.py)`:\n\n(?:<!--[^\n]*-->\n)?```python\n(.*?)```"
    blocks = re.findall(block, section, re.S)
    return dict(blocks)


def _project(tmp_path: Path, extra_settings: str = "") -> dict[str, str]:
    found = _django_files()
    # The project's four files; asgi.py there is the alternative of wrapping the app.
    files = {name: found[name] for name in ("analytics.py", "settings.py", "urls.py", "views.py")}
    package = tmp_path / "mysite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, code in files.items():
        if name == "settings.py":
            code = BASE_SETTINGS + code + extra_settings
        (package / name).write_text(code)
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "DJANGO_SETTINGS_MODULE": "mysite.settings",
        "BROWSER_UA": BROWSER_UA,
    }


def test_the_django_sample_runs_as_copied(tmp_path):
    env = _project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", RUN], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout + done.stderr
    assert "views 1" in done.stdout


def test_a_misspelt_setting_fails_manage_py_check_with_the_name_meant(tmp_path):
    env = _project(tmp_path, "FOOTFALL_INJECT_SCRIPTS = False\n")
    done = subprocess.run(
        [sys.executable, "-c", RUN], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "footfall.E001" in done.stderr
    assert "Unknown setting FOOTFALL_INJECT_SCRIPTS" in done.stderr
    assert "Did you mean FOOTFALL_INJECT_SCRIPT?" in done.stderr


def test_the_middleware_without_the_app_refuses_a_wrong_setting_by_name(tmp_path):
    env = _project(
        tmp_path,
        'INSTALLED_APPS = []\nFOOTFALL_ANALYTICS = "mysite.analytics.analitics"\n',
    )
    done = subprocess.run(
        [sys.executable, "-c", RUN], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "FOOTFALL_ANALYTICS 'mysite.analytics.analitics' cannot be imported" in done.stderr
