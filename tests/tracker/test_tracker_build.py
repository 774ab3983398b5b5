"""The committed tracker builds are the ones tracker/build.py makes from tracker/*.js, and the
default build stays under its 1,000-byte (gzipped) budget."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tracker_build", ROOT / "tracker" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load_build()


def test_outputs_were_built_from_the_current_sources() -> None:
    """Without Node.js: built.json names the sources' hash and each committed output's."""
    recorded = json.loads((build.HERE / "built.json").read_text())
    assert recorded["source"] == build.source_hash(), "run: python tracker/build.py"
    for target in build.BUILDS:
        text = (build.PACKAGE / target.output).read_text()
        assert recorded[target.output] == build.output_hash(text), (
            f"{target.output} was edited by hand; edit tracker/*.js and run tracker/build.py"
        )


def test_a_rebuild_gives_the_committed_files_byte_for_byte() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        message = "Node.js and npm are needed to rebuild the tracker (apt-get install npm)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    for target in build.BUILDS:
        assert build.build(target) == (build.PACKAGE / target.output).read_text(), target.output


def test_default_build_is_under_1000_bytes_gzipped() -> None:
    body = (build.PACKAGE / build.DEFAULT.output).read_bytes()
    assert len(gzip.compress(body, 9)) < 1000


def test_both_builds_share_the_one_implementation() -> None:
    """The entries are thin: every behaviour lives in core.js, wrapped once per build."""
    core = (build.HERE / "core.js").read_text()
    for target in build.BUILDS:
        source = target.source()
        assert core in source
        entry = (build.HERE / target.entry).read_text()
        for behaviour in ("sendBeacon", "pushState", "data-footfall-event", "webdriver"):
            assert behaviour not in entry, f"{behaviour} belongs in core.js, not {target.entry}"
