"""The documentation site builds in strict mode, and its generated reference pages hold what
the code holds.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing from the nav or
an unknown generated table; any warning at all fails the test too.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from footfall.cli import commands
from footfall.config import Config
from footfall.ingest.event import DropReason
from footfall.store.schema import metadata
from footfall.web.api import openapi

ROOT = Path(__file__).resolve().parents[2]


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", directory)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings)
    return directory


def text_of(site: Path, page: str) -> str:
    """The visible text of a built page's article, entities decoded."""
    source = (site / page / "index.html").read_text(encoding="utf-8")
    article = source[source.index("<article") : source.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", article))


def test_every_config_option_is_on_the_configuration_page(site: Path) -> None:
    text = text_of(site, "configuration")
    for field in dataclasses.fields(Config):
        assert f" {field.name} " in text, field.name


def test_every_drop_reason_is_on_the_hooks_page(site: Path) -> None:
    text = text_of(site, "hooks")
    for reason in DropReason:
        assert f" {reason.value} " in text, reason


def test_every_table_and_column_is_on_the_schema_page(site: Path) -> None:
    text = text_of(site, "schema")
    for table in metadata.tables.values():
        assert f" {table.name} " in text, table.name
        for column in table.columns:
            assert f" {column.name} " in text, f"{table.name}.{column.name}"


def test_every_endpoint_is_on_the_http_page(site: Path) -> None:
    text = text_of(site, "http-api")
    document = openapi(Config().api_base_path)
    for path in document["paths"]:
        assert f"GET {path}" in text, path
    for schema in document["components"]["schemas"]:
        assert f" {schema} " in text, schema


def test_every_command_is_on_the_cli_page(site: Path) -> None:
    text = text_of(site, "cli")
    for name, command in commands():
        assert name in text, name
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--"):
                    assert f" {option} " in text, f"{name} {option}"


def test_the_python_api_page_is_rendered_from_the_code(site: Path) -> None:
    text = text_of(site, "python-api")
    for name in ("track_sync", "get_dashboard_stats_sync", "get_top_pages", "DashboardStats"):
        assert name in text, name
    assert ":::" not in text, "an mkdocstrings directive was left unrendered"


def test_strict_build_fails_on_a_broken_anchor(tmp_path: Path) -> None:
    """The check above can fail: the same configuration on a copy of the docs with one bad
    link does not build."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(
        index.read_text() + "\n[broken](privacy.md#no-such-section)\n", encoding="utf-8"
    )
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-section" in result.stdout + result.stderr
